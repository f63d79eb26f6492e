import { Duration } from 'aws-cdk-lib';
import { AirflowTaskOptions, CeleryWorkerOptions } from '../service/service-options';

/**
 * How many Celery workers run, following the task queue.
 */
export interface WorkerAutoscalingOptions {
  /**
   * The fewest workers. 0 scales to zero when no task is queued or running (the first task then
   * waits for a worker to start, about 2–4 minutes).
   *
   * @default 0
   */
  readonly minCapacity?: number;

  /**
   * The most workers. `maxCapacity x concurrency` tasks run at once at most.
   *
   * @default 10
   */
  readonly maxCapacity?: number;

  /**
   * How long the need for workers must stay lower before workers are removed.
   *
   * @default Duration.minutes(5)
   */
  readonly scaleInCooldown?: Duration;
}

/**
 * Where Celery workers run: Fargate Spot mixed with on-demand Fargate.
 */
export interface WorkerCapacityOptions {
  /**
   * Run workers on Fargate Spot, mixed with on-demand Fargate (Fargate never falls back to
   * on-demand by itself when Spot has no capacity). The control plane never runs on Spot.
   *
   * @default true
   */
  readonly spot?: boolean;

  /**
   * Workers that always run on on-demand Fargate, before the Spot/on-demand weights apply.
   *
   * @default 0
   */
  readonly onDemandBase?: number;

  /**
   * The share of workers beyond `onDemandBase` that run on Fargate Spot, in percent; the rest run
   * on on-demand Fargate. 100 means Spot only, which stops scaling out while Spot has no capacity.
   *
   * @default 75
   */
  readonly spotPercent?: number;
}

/**
 * A pool of Celery workers: its size, the queues it consumes, where its workers run and how many.
 */
export interface WorkerPoolOptions extends AirflowTaskOptions, CeleryWorkerOptions, WorkerAutoscalingOptions, WorkerCapacityOptions {
}

/**
 * Options of the Celery workers (the `workers` pool): their size, what they run, where and how
 * many, and how long tasks may wait for them.
 */
export interface AirflowWorkerOptions extends WorkerPoolOptions {
  /**
   * How long a task may wait in the queue, for example for a worker to start from zero, and still
   * run: sets `[scheduler] task_queued_timeout` and the Execution API token lifetime
   * (`[execution_api] jwt_expiration_time`, 10 minutes by default in Airflow) on every component.
   *
   * @default Duration.minutes(30)
   */
  readonly maxQueueWait?: Duration;
}
