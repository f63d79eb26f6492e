import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import { DEFAULTS } from './defaults';
import { isConcrete, Problems } from './validation';
import type { WorkerAutoscalingOptions } from '../scaling/worker-autoscaling';

/** The queue-metrics publisher and the scale-in protector, run inside the Airflow image. */
export const WORKER_SCALING_SCRIPT = fs.readFileSync(
  path.join(__dirname, '..', '..', 'assets', 'worker-scaling', 'airflow_worker_scaling.py'), 'utf8');

export const SCALING_ENV = {
  queues: 'CDK_AIRFLOW_SCALING_QUEUES',
  period: 'CDK_AIRFLOW_SCALING_PERIOD_SECONDS',
  cooldown: 'CDK_AIRFLOW_SCALING_SCALE_IN_COOLDOWN_SECONDS',
  namespace: 'CDK_AIRFLOW_SCALING_NAMESPACE',
  dimensions: 'CDK_AIRFLOW_SCALING_DIMENSIONS',
  protectionMinutes: 'CDK_AIRFLOW_PROTECTION_MINUTES',
  minCapacity: 'CDK_AIRFLOW_SCALING_MIN_CAPACITY',
  maxCapacity: 'CDK_AIRFLOW_SCALING_MAX_CAPACITY',
} as const;

export const METRIC_NAMESPACE = 'CdkAirflowEcs/Workers';

/** Application Auto Scaling step adjustments: at most this many, to stay well inside its limits. */
const MAX_STEPS = 20;

export interface ExactStep { lower: number; upper?: number; capacity: number }

/**
 * Steps that map the published DesiredWorkers value to an exact worker count. One step per
 * worker up to 19 workers; above that, steps of `ceil(max / 19)` workers, rounded up.
 */
export function exactCapacitySteps(maxCapacity: number): ExactStep[] {
  const granularity = Math.max(1, Math.ceil(maxCapacity / (MAX_STEPS - 1)));
  const steps: ExactStep[] = [{ lower: 0, upper: 1, capacity: 0 }];
  for (let lower = 1; lower <= maxCapacity; lower += granularity) {
    const upper = lower + granularity;
    const capacity = Math.min(maxCapacity, lower + granularity - 1);
    steps.push(upper > maxCapacity ? { lower, capacity: maxCapacity } : { lower, upper, capacity });
  }
  return steps;
}

/**
 * RDS PostgreSQL's default max_connections is LEAST(DBInstanceClassMemory / 9531392, 5000);
 * DBInstanceClassMemory is the class memory less what RDS reserves (about 10% here, to be safe).
 */
const INSTANCE_MEMORY_GIB: Record<string, number> = {
  'micro': 1, 'small': 2, 'medium': 4, 'large': 8, 'xlarge': 16, '2xlarge': 32, '4xlarge': 64, '8xlarge': 128,
};

export function postgresMaxConnections(instanceClass: string): number | undefined {
  const m = /^(?:db\.)?([a-z0-9]+)\.([a-z0-9]+)$/.exec(instanceClass);
  if (!m) return undefined;
  const family = m[1];
  let gib = INSTANCE_MEMORY_GIB[m[2]];
  if (gib === undefined) return undefined;
  // r-families have twice the memory of m-families at the same size; t-families match m
  if (family.startsWith('r') || family.startsWith('x')) gib *= 2;
  if (family.startsWith('m') && m[2] === 'large') gib = 8;
  return Math.min(Math.floor((gib * 1024 ** 3 * 0.9) / 9531392), 5000);
}

/** Checks the scaling options; every problem names the prop, the value and the fix. */
export function validateWorkerAutoscaling(o: WorkerAutoscalingOptions, prefix: string): void {
  const problems = new Problems();
  const p = (n: string) => `${prefix}${n}`;
  for (const [name, value] of [['minCapacity', o.minCapacity], ['maxCapacity', o.maxCapacity], ['spotPercent', o.spotPercent], ['onDemandBase', o.onDemandBase]] as const) {
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
  if (o.maxQueueWait && !o.maxQueueWait.isUnresolved() && (o.maxQueueWait.toSeconds() < 600 || o.maxQueueWait.toSeconds() > 86400)) {
    problems.add(`${p('maxQueueWait')} (${o.maxQueueWait.toSeconds()} s) must be between 10 minutes (Airflow's own default) and 24 hours`);
  }
  if (isConcrete(o.onDemandBase) && (!Number.isInteger(o.onDemandBase) || o.onDemandBase < 0 || o.onDemandBase > 100000)) {
    problems.add(`${p('onDemandBase')} (${o.onDemandBase}) must be a whole number >= 0`);
  }
  if (isConcrete(o.spotPercent) && (!Number.isInteger(o.spotPercent) || o.spotPercent < 0 || o.spotPercent > 100)) {
    problems.add(`${p('spotPercent')} (${o.spotPercent}) must be a whole number from 0 to 100`);
  }
  if (o.spot === false && o.spotPercent !== undefined) {
    problems.add(`${p('spotPercent')} (${o.spotPercent}) has no effect with ${p('spot')}: false; remove one of them`);
  }
  problems.throwIfAny('WorkerAutoscaling');
}
