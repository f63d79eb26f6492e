import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AirflowComponent } from '../common/airflow-component';
import { databaseEnvironment, databaseSecrets } from '../private/config';
import { AIRFLOW_USER, DEFAULTS } from '../private/defaults';
import { acknowledgeNag, NAG } from '../private/nag';
import { exactCapacitySteps, METRIC_NAMESPACE, SCALING_ENV, validateWorkerAutoscaling, WORKER_SCALING_SCRIPT } from '../private/worker-scaling';
import { AirflowService } from '../service/airflow-service';

/**
 * How the Celery workers scale and where they run.
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

  /**
   * How long a task may wait in the queue, for example for a worker to start from zero, and still
   * run: sets `[scheduler] task_queued_timeout` and the Execution API token lifetime
   * (`[execution_api] jwt_expiration_time`, 10 minutes by default in Airflow) on every component.
   *
   * @default Duration.minutes(30)
   */
  readonly maxQueueWait?: Duration;

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
 * Properties of `WorkerAutoscaling`.
 */
export interface WorkerAutoscalingProps extends WorkerAutoscalingOptions {
  /** The Celery worker service to scale. */
  readonly workers: AirflowService;

  /** The scheduler service: the queue-metrics publisher runs as a sidecar in its task. */
  readonly scheduler: AirflowService;
}

/**
 * Scales the Celery workers on the task queue, as the Helm chart's KEDA setup and MWAA do:
 * desired workers = ceil((queued + running tasks) / worker_concurrency), within min/max.
 *
 * - A `queue-metrics` sidecar in the scheduler task counts queued and running task instances in
 *   the metadata database every 30 s and publishes `QueuedTasks`, `RunningTasks` and
 *   `DesiredWorkers` (held for `scaleInCooldown` before it falls) to CloudWatch.
 * - An always-firing alarm on `DesiredWorkers` drives an ExactCapacity step policy, re-applied
 *   every minute: workers follow the queue within about two minutes, from zero too.
 * - A `scale-in-protection` sidecar in each worker task turns on ECS task scale-in protection
 *   while the worker runs tasks, so scale-in stops idle workers only.
 * - Workers run on a FARGATE_SPOT/FARGATE capacity-provider mix.
 */
export class WorkerAutoscaling extends Construct {
  /** The scalable target of the worker service's desired count. */
  public readonly scalableTarget: appscaling.ScalableTarget;
  /** The ExactCapacity step policy driven by `DesiredWorkers`. */
  public readonly scalingAction: appscaling.StepScalingAction;
  /** The workers the queue needs, as published (Maximum per minute). */
  public readonly desiredWorkersMetric: cloudwatch.Metric;
  /** Task instances in the `queued` state on the workers' queues. */
  public readonly queuedTasksMetric: cloudwatch.Metric;
  /** Task instances in the `running` state on the workers' queues. */
  public readonly runningTasksMetric: cloudwatch.Metric;
  /** The alarm that applies `DesiredWorkers` every minute (always in ALARM while data flows). */
  public readonly scalingAlarm: cloudwatch.Alarm;
  /** In alarm when no queue metrics arrive (the publisher is down, so workers no longer scale). */
  public readonly metricsMissingAlarm: cloudwatch.Alarm;
  /** The queue-metrics publisher container in the scheduler task. */
  public readonly publisherContainer: ecs.ContainerDefinition;
  /** The scale-in protection container in the worker task. */
  public readonly protectionContainer: ecs.ContainerDefinition;
  /** The capacity-provider strategy of the workers. */
  public readonly capacityProviderStrategies: ecs.CapacityProviderStrategy[];

  constructor(scope: Construct, id: string, props: WorkerAutoscalingProps) {
    super(scope, id);
    validateWorkerAutoscaling(props, 'workers.');
    if (props.workers.component !== AirflowComponent.CELERY_WORKER) {
      throw new Error(`WorkerAutoscaling: workers must be the Celery worker service, got ${props.workers.component.name}`);
    }
    if (props.scheduler.component !== AirflowComponent.SCHEDULER) {
      throw new Error(`WorkerAutoscaling: scheduler must be the scheduler service, got ${props.scheduler.component.name}`);
    }
    const minCapacity = props.minCapacity ?? DEFAULTS.workerScaling.minCapacity;
    const maxCapacity = props.maxCapacity ?? DEFAULTS.workerScaling.maxCapacity;
    const cooldown = props.scaleInCooldown ?? Duration.seconds(DEFAULTS.workerScaling.scaleInCooldownSeconds);
    const service = props.workers.service;
    const cluster = service.cluster;

    // --- where workers run: Spot mixed with on-demand, never launch type FARGATE ---
    const spot = props.spot ?? true;
    const spotPercent = props.spotPercent ?? DEFAULTS.workerScaling.spotPercent;
    const onDemandBase = props.onDemandBase ?? 0;
    this.capacityProviderStrategies = spot
      ? [
        { capacityProvider: 'FARGATE', base: onDemandBase, weight: 100 - spotPercent },
        { capacityProvider: 'FARGATE_SPOT', weight: spotPercent },
      ].filter(s => s.weight > 0 || (s.base ?? 0) > 0)
      : [{ capacityProvider: 'FARGATE', base: onDemandBase, weight: 1 }];
    if (cluster instanceof ecs.Cluster) {
      cluster.enableFargateCapacityProviders();
      // the capacity providers must be associated before the service uses them
      service.node.addDependency(cluster);
    }
    const cfnService = service.node.defaultChild as ecs.CfnService;
    cfnService.launchType = undefined;
    cfnService.capacityProviderStrategy = this.capacityProviderStrategies;

    // --- the signal: published by a sidecar of the scheduler ---
    // Known at synth: the worker service's name would make the scheduler wait for the workers.
    const dimensions = { ClusterName: cluster.clusterName, WorkerService: Names.uniqueId(service) };
    const metric = (metricName: string, statistic: string) => new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE, metricName, dimensionsMap: dimensions, statistic, period: Duration.minutes(1),
    });
    this.desiredWorkersMetric = metric('DesiredWorkers', 'Maximum');
    this.queuedTasksMetric = metric('QueuedTasks', 'Maximum');
    this.runningTasksMetric = metric('RunningTasks', 'Maximum');

    const storage = props.scheduler.storage;
    const scriptContainer = (task: AirflowService, containerId: string, name: string, job: string, env: Record<string, string>, essential: boolean) =>
      task.taskDefinition.addContainer(containerId, {
        containerName: name,
        image: task.image,
        user: AIRFLOW_USER,
        entryPoint: ['python3', '-c'],
        command: [WORKER_SCALING_SCRIPT, job],
        environment: { ...databaseEnvironment(storage), ...env },
        secrets: databaseSecrets(storage),
        essential,
        memoryReservationMiB: 128,
        logging: ecs.LogDrivers.awsLogs({ logGroup: task.logGroup, streamPrefix: name }),
      });

    // essential: if it stops, the scheduler task restarts with it, rather than workers silently
    // no longer scaling (it catches its own errors and keeps going).
    this.publisherContainer = scriptContainer(props.scheduler, 'QueueMetrics', 'queue-metrics', 'publish', {
      AIRFLOW__CELERY__WORKER_CONCURRENCY: `${props.workers.workerConcurrency ?? DEFAULTS.workers.concurrency}`,
      [SCALING_ENV.queues]: (props.workers.workerQueues ?? ['default']).join(','),
      [SCALING_ENV.period]: '30',
      [SCALING_ENV.cooldown]: `${cooldown.toSeconds()}`,
      [SCALING_ENV.minCapacity]: `${minCapacity}`,
      [SCALING_ENV.maxCapacity]: `${maxCapacity}`,
      [SCALING_ENV.namespace]: METRIC_NAMESPACE,
      [SCALING_ENV.dimensions]: Stack.of(this).toJsonString(dimensions),
    }, true);
    props.scheduler.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
    }));

    acknowledgeNag(props.scheduler.taskDefinition.taskRole, [NAG.putMetricData], true);

    // not essential: if it stops, a busy worker may be chosen for scale-in (Celery then finishes
    // its tasks within the 120 s stop timeout), which beats killing the worker now
    this.protectionContainer = scriptContainer(props.workers, 'ScaleInProtection', 'scale-in-protection', 'protect', {
      [SCALING_ENV.period]: '15',
      [SCALING_ENV.protectionMinutes]: `${DEFAULTS.workerScaling.protectionMinutes}`,
    }, false);
    props.workers.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
      resources: [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${cluster.clusterName}/*` })],
    }));

    acknowledgeNag(props.workers.taskDefinition.taskRole, [NAG.taskProtection], true);

    // --- the policy: ExactCapacity = DesiredWorkers, re-applied every minute ---
    // No DesiredCount in the template: CloudFormation would reset the worker count to it on every
    // update of the service. ECS starts with one worker, then the policy takes over.
    cfnService.desiredCount = undefined;
    this.scalableTarget = new appscaling.ScalableTarget(this, 'Target', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${cluster.clusterName}/${service.serviceName}`,
      minCapacity,
      maxCapacity,
    });
    this.scalingAction = new appscaling.StepScalingAction(this, 'QueueScaling', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    for (const step of exactCapacitySteps(maxCapacity)) {
      this.scalingAction.addAdjustment({ lowerBound: step.lower, upperBound: step.upper, adjustment: step.capacity });
    }
    // CloudWatch re-invokes Auto Scaling actions every minute while an alarm stays in ALARM, so
    // an alarm that is always in ALARM re-applies the current DesiredWorkers every minute.
    this.scalingAlarm = this.desiredWorkersMetric.createAlarm(this, 'ScalingAlarm', {
      alarmDescription: 'Sets the Airflow worker count to DesiredWorkers every minute (always in ALARM while the queue metrics flow; this is expected)',
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    this.scalingAlarm.addAlarmAction(new cwactions.ApplicationScalingAction(this.scalingAction));

    this.metricsMissingAlarm = new cloudwatch.Alarm(this, 'MetricsMissingAlarm', {
      alarmDescription: 'No Airflow queue metrics for 5 minutes: the queue-metrics sidecar of the scheduler is not publishing, so workers do not scale',
      metric: this.desiredWorkersMetric.with({ statistic: 'SampleCount', period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
