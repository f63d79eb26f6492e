import type { WorkerAutoscaling } from './worker-autoscaling';
import type { AirflowService } from '../service/airflow-service';

/**
 * A pool of Celery workers of an `AirflowOnEcs`: a worker service, the queues it consumes and its
 * queue-driven scaling.
 */
export interface WorkerPool {
  /** The pool's name: `default` for `workers`, else its key in `workerPools`. */
  readonly name: string;
  /** The Celery queues its workers consume. */
  readonly queues: string[];
  /** The worker service (`bucket.grantRead(pool.service)`, `pool.service.connections`). */
  readonly service: AirflowService;
  /** Its scaling, with the pool's `metricQueuedTasks()`, `metricRunningTasks()` and `metricDesiredWorkers()`. */
  readonly autoscaling: WorkerAutoscaling;
}
