import * as fs from 'fs';
import * as path from 'path';

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
