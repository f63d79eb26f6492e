import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';

/**
 * Size, extra environment and secrets of one Airflow component's tasks.
 */
export interface AirflowTaskOptions {
  /**
   * Task CPU units (1024 = 1 vCPU). Must form a valid Fargate pair with `memoryLimitMiB`.
   *
   * @default - api-server, scheduler and dag-processor 1024; triggerer 512; workers 1024
   */
  readonly cpu?: number;

  /**
   * Task memory in MiB. Must form a valid Fargate pair with `cpu`.
   *
   * @default - api-server, scheduler and dag-processor 2048; triggerer 1024; workers 3072
   */
  readonly memoryLimitMiB?: number;

  /**
   * Task ephemeral storage in GiB, 21–200: the task's writable disk, which every container of the
   * task shares. Airflow writes temporary files to it: `/tmp` (Python's `tempfile`, which tasks
   * and operators use for downloads and intermediate files), `/opt/airflow/logs` (task logs
   * before they are uploaded to S3), the DAG files git-sync checks out, and the image's own
   * layers. Fargate gives every task 20 GiB, of which the image layers take their share (the
   * official image is about 1.5 GiB unpacked); raise it for tasks that stage large files.
   *
   * @default - Fargate's 20 GiB
   */
  readonly ephemeralStorageGiB?: number;

  /**
   * Extra environment variables for this component, for example
   * `{ AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' }`. `AIRFLOW__*` names are checked against
   * the configuration reference of the image's Airflow release: an unknown, misspelled or
   * deprecated option fails synth with the nearest valid one (list options the reference does
   * not know, such as those of a provider you install, in `customOptions`). Variables the library
   * sets cannot be set here; synth names the option that sets them. Never put secrets here: they
   * would be stored in the template in plain text; use `secrets`.
   *
   * @default - none
   */
  readonly environment?: { [name: string]: string };

  /**
   * Extra secrets for this component, injected by ECS as environment variables when a task
   * starts, for example `{ AIRFLOW__SENTRY__SENTRY_DSN: ecs.Secret.fromSecretsManager(secret) }`.
   * The task execution role gets read access. Names are checked like `environment`.
   *
   * @default - none
   */
  readonly secrets?: { [name: string]: ecs.Secret };
}

/**
 * Size, count, extra environment and secrets of one Airflow component.
 */
export interface AirflowComponentOptions extends AirflowTaskOptions {
  /**
   * Number of tasks.
   *
   * @default 1
   */
  readonly desiredCount?: number;
}

/**
 * Options of the api-server.
 */
export interface ApiServerOptions extends AirflowComponentOptions {
  /**
   * How long ECS ignores failing load balancer health checks after a task starts. Airflow needs
   * minutes to start: an image pull, the database check and the migration wait come first.
   *
   * @default Duration.seconds(480)
   */
  readonly healthCheckGracePeriod?: Duration;
}

/**
 * What a Celery worker runs.
 */
export interface CeleryWorkerOptions {
  /**
   * Tasks one worker runs at the same time (`[celery] worker_concurrency`). Synth checks that
   * `memoryLimitMiB` holds the worker itself (512 MiB), 256 MiB per running task, and what the
   * task's sidecars (git-sync, scale-in protection) and the Service Connect proxy reserve: the
   * default 3072 MiB holds 8 tasks.
   *
   * @default 8
   */
  readonly concurrency?: number;

  /**
   * The Celery queues the workers consume (`airflow celery worker --queues`); only their tasks
   * count for scaling. Tasks go to a queue through the operator's `queue` argument.
   *
   * @default ['default']
   */
  readonly queues?: string[];
}
