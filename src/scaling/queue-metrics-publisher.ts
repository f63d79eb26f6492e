import { Lazy, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { HEARTBEAT_NAMESPACE, METRIC_NAMESPACE, SCALING_ENV, scalingScriptContainer } from './queue-metrics';
import { DEFAULTS } from '../private/defaults';
import { acknowledgeNag, NAG } from '../private/nag';
import type { AirflowService } from '../service/airflow-service';

/** One worker pool as the publisher sees it (the JSON the sidecar reads). */
export interface PublishedPool {
  readonly dimensions: Record<string, string>;
  readonly queues: string[];
  readonly concurrency: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly scaleInCooldownSeconds: number;
}

const ID = 'QueueMetricsPublisher';

/**
 * The `queue-metrics` sidecar of a scheduler: one per scheduler, publishing for every worker pool
 * whose `WorkerAutoscaling` registers with it (one database query per round for all of them).
 */
export class QueueMetricsPublisher extends Construct {
  /** The scheduler's publisher, created on first use. */
  public static of(scheduler: AirflowService): QueueMetricsPublisher {
    return scheduler.node.tryFindChild(ID) as QueueMetricsPublisher | undefined ?? new QueueMetricsPublisher(scheduler);
  }

  public readonly container: ecs.ContainerDefinition;
  private readonly pools: { pool: PublishedPool; owner: string }[] = [];

  private constructor(scheduler: AirflowService) {
    super(scheduler, ID);
    // It catches its own errors and keeps going; if it exits all the same, ECS restarts it in place
    // and the scheduler keeps running (see scalingScriptContainer).
    this.container = scalingScriptContainer(scheduler, 'QueueMetrics', 'queue-metrics', 'publish', {
      [SCALING_ENV.period]: `${DEFAULTS.workerScaling.publishPeriodSeconds}`,
      [SCALING_ENV.namespace]: METRIC_NAMESPACE,
      [SCALING_ENV.pools]: Lazy.string({ produce: () => Stack.of(this).toJsonString(this.pools.map(p => p.pool)) }),
      // the scheduler's, dag-processor's and triggerer's heartbeat ages, from the same database round
      [SCALING_ENV.heartbeats]: Stack.of(this).toJsonString({
        namespace: HEARTBEAT_NAMESPACE,
        dimensions: { ClusterName: scheduler.service.cluster.clusterName },
      }),
    });
    // A policy of its own, so that the Resource::* it needs is acknowledged on it alone and a
    // wildcard granted to the scheduler's role still shows up in cdk-nag.
    const policy = new iam.Policy(this, 'Policy', {
      roles: [scheduler.taskDefinition.taskRole],
      statements: [new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': [METRIC_NAMESPACE, HEARTBEAT_NAMESPACE] } },
      })],
    });
    scheduler.service.node.addDependency(policy);
    acknowledgeNag(policy, [NAG.putMetricData]);
  }

  /**
   * Publishes a pool's metrics from now on. Returns the queues another pool already consumes,
   * with that pool's prop path (a queue belongs to one pool).
   *
   * @param pool the pool
   * @param owner where the pool's settings sit in the props, for messages
   */
  public addPool(pool: PublishedPool, owner: string): { queue: string; owner: string }[] {
    const taken = pool.queues.flatMap(queue => this.pools.filter(p => p.pool.queues.includes(queue)).map(p => ({ queue, owner: p.owner })));
    this.pools.push({ pool, owner });
    return taken;
  }
}
