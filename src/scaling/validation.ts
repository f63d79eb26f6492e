import { Duration, Token } from 'aws-cdk-lib';
import type { WorkerAutoscalingOptions, WorkerCapacityOptions } from './scaling-options';
import { DEFAULTS } from '../private/defaults';
import { isConcrete, Problems } from '../private/validation';

/** Checks the scaling options; every problem names the prop (after `prefix`), the value and the fix. */
export function validateWorkerAutoscaling(problems: Problems, o: WorkerAutoscalingOptions, prefix: string): void {
  const p = (n: string) => `${prefix}${n}`;
  // minCapacity and maxCapacity size the scaling steps and Airflow's parallelism: they must be known
  for (const [name, value] of [['minCapacity', o.minCapacity], ['maxCapacity', o.maxCapacity]] as const) {
    if (value !== undefined && Token.isUnresolved(value)) {
      problems.add(`${p(name)} is a token; it must be a number known at synth (it sizes the scaling steps and Airflow's parallelism)`);
    }
  }
  const min = o.minCapacity ?? DEFAULTS.workerScaling.minCapacity;
  const max = o.maxCapacity ?? DEFAULTS.workerScaling.maxCapacity;
  if (isConcrete(o.minCapacity) && (!Number.isInteger(o.minCapacity) || o.minCapacity < 0)) {
    problems.add(`${p('minCapacity')} (${o.minCapacity}) must be a whole number >= 0`);
  }
  if (isConcrete(o.maxCapacity) && (!Number.isInteger(o.maxCapacity) || o.maxCapacity < 1 || o.maxCapacity > 200)) {
    problems.add(`${p('maxCapacity')} (${o.maxCapacity}) must be a whole number from 1 to 200`);
  }
  if (isConcrete(min) && isConcrete(max) && min > max) {
    problems.add(`${p('minCapacity')} (${min}) must be <= ${p('maxCapacity')} (${max}); lower minCapacity or raise maxCapacity`);
  }
  if (o.scaleInCooldown && !o.scaleInCooldown.isUnresolved() && (o.scaleInCooldown.toSeconds() < 60 || o.scaleInCooldown.toSeconds() > 3600)) {
    problems.add(`${p('scaleInCooldown')} (${o.scaleInCooldown.toSeconds()} s) must be between 60 seconds and 1 hour`);
  }
}

/** Checks where workers run. */
export function validateWorkerCapacity(problems: Problems, o: WorkerCapacityOptions, prefix: string): void {
  const p = (n: string) => `${prefix}${n}`;
  if (isConcrete(o.onDemandBase) && (!Number.isInteger(o.onDemandBase) || o.onDemandBase < 0 || o.onDemandBase > 100000)) {
    problems.add(`${p('onDemandBase')} (${o.onDemandBase}) must be a whole number >= 0`);
  }
  if (isConcrete(o.spotPercent) && (!Number.isInteger(o.spotPercent) || o.spotPercent < 0 || o.spotPercent > 100)) {
    problems.add(`${p('spotPercent')} (${o.spotPercent}) must be a whole number from 0 to 100`);
  }
  if (o.spot === false && o.spotPercent !== undefined) {
    problems.add(`${p('spotPercent')} (${o.spotPercent}) has no effect with ${p('spot')}: false; remove one of them`);
  }
}

/** Checks how long a task may wait in the queue. */
export function validateMaxQueueWait(problems: Problems, maxQueueWait: Duration | undefined, prop: string): void {
  if (maxQueueWait && !maxQueueWait.isUnresolved() && (maxQueueWait.toSeconds() < 600 || maxQueueWait.toSeconds() > 86400)) {
    problems.add(`${prop} (${maxQueueWait.toSeconds()} s) must be between 10 minutes (Airflow's own default) and 24 hours`);
  }
}
