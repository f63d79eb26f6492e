import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { databaseEnvironment, databaseSecrets } from '../private/config';
import { AIRFLOW_USER } from '../private/defaults';
import type { AirflowService } from '../service/airflow-service';

/** The queue-metrics publisher and the scale-in protector, run inside the Airflow image. */
export const WORKER_SCALING_SCRIPT = fs.readFileSync(
  path.join(__dirname, '..', '..', 'assets', 'worker-scaling', 'airflow_worker_scaling.py'), 'utf8');

export const SCALING_ENV = {
  pools: 'CDK_AIRFLOW_SCALING_POOLS',
  period: 'CDK_AIRFLOW_SCALING_PERIOD_SECONDS',
  namespace: 'CDK_AIRFLOW_SCALING_NAMESPACE',
  protectionMinutes: 'CDK_AIRFLOW_PROTECTION_MINUTES',
  heartbeats: 'CDK_AIRFLOW_HEARTBEATS',
  queues: 'CDK_AIRFLOW_WORKER_QUEUES',
} as const;

export const METRIC_NAMESPACE = 'CdkAirflowEcs/Workers';

/** Where the publisher puts each long-running component's `HeartbeatAge` (dimensions ClusterName, Component). */
export const HEARTBEAT_NAMESPACE = 'CdkAirflowEcs/Airflow';

/**
 * A sidecar that runs one job of the worker-scaling program in the Airflow image, with the
 * database access Airflow itself has.
 */
export function scalingScriptContainer(task: AirflowService, containerId: string, name: string, job: 'publish' | 'protect',
  env: Record<string, string>, secrets: Record<string, ecs.Secret> = {}): ecs.ContainerDefinition {
  return task.taskDefinition.addContainer(containerId, {
    containerName: name,
    image: task.image,
    user: AIRFLOW_USER,
    entryPoint: ['python3', '-c'],
    command: [WORKER_SCALING_SCRIPT, job],
    environment: { ...databaseEnvironment(task.storage), ...env },
    secrets: { ...databaseSecrets(task.storage), ...secrets },
    // It must not take the component down with it: not essential, and ECS restarts it in place
    // when it exits after running a minute (one that cannot start stays down, and the
    // metrics-missing alarm says so).
    essential: false,
    enableRestartPolicy: true,
    restartAttemptPeriod: Duration.seconds(60),
    memoryReservationMiB: 128,
    logging: ecs.LogDrivers.awsLogs({ logGroup: task.logGroup, streamPrefix: name }),
  });
}

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
