import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { exactCapacitySteps, METRIC_NAMESPACE, SCALING_ENV, scalingScriptContainer } from './queue-metrics';
import { QueueMetricsPublisher } from './queue-metrics-publisher';
import { WorkerAutoscalingOptions, WorkerCapacityOptions } from './scaling-options';
import { validateWorkerAutoscaling } from './validation';
import { AirflowComponent } from '../common/airflow-component';
import { brokerEnvironment, brokerSecrets } from '../private/config';
import { DEFAULTS } from '../private/defaults';
import { acknowledgeNag, NAG } from '../private/nag';
import { Problems } from '../private/validation';
import { AirflowService } from '../service/airflow-service';

/**
 * Properties of `WorkerAutoscaling`.
 */
export interface WorkerAutoscalingProps extends WorkerAutoscalingOptions {
  /**
   * The Celery worker service to scale. Create it with `autoscaled: true` (no DesiredCount in the
   * template) and, for Spot, `capacityProviderStrategies: WorkerAutoscaling.capacityProviderStrategies()`.
   */
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
 *   `DesiredWorkers` (held for `scaleInCooldown` before it falls) to CloudWatch. One sidecar
 *   serves every `WorkerAutoscaling` of the scheduler, one per worker pool (a worker service and
 *   its queues; a queue belongs to one pool).
 * - An always-firing alarm on `DesiredWorkers` drives an ExactCapacity step policy, re-applied
 *   every minute: workers follow the queue within about two minutes, from zero too.
 * - A `scale-in-protection` sidecar in each worker task turns on ECS task scale-in protection
 *   while the worker runs tasks, so scale-in stops idle workers only.
 */
export class WorkerAutoscaling extends Construct {
  /**
   * A FARGATE_SPOT/FARGATE mix for the worker service (Fargate never falls back to on-demand by
   * itself when Spot has no capacity): `onDemandBase` workers on FARGATE, then `spotPercent` of
   * the rest on FARGATE_SPOT. Without Spot, FARGATE only.
   *
   * @param options the Spot mix
   */
  public static capacityProviderStrategies(options: WorkerCapacityOptions = {}): ecs.CapacityProviderStrategy[] {
    const spot = options.spot ?? DEFAULTS.workerScaling.spot;
    const spotPercent = options.spotPercent ?? DEFAULTS.workerScaling.spotPercent;
    const onDemandBase = options.onDemandBase ?? DEFAULTS.workerScaling.onDemandBase;
    return spot
      ? [
        { capacityProvider: 'FARGATE', base: onDemandBase, weight: 100 - spotPercent },
        { capacityProvider: 'FARGATE_SPOT', weight: spotPercent },
      ].filter(s => s.weight > 0 || (s.base ?? 0) > 0)
      : [{ capacityProvider: 'FARGATE', base: onDemandBase, weight: 1 }];
  }

  /** The scalable target of the worker service's desired count. */
  public readonly scalableTarget: appscaling.ScalableTarget;
  /** The ExactCapacity step policy driven by `DesiredWorkers`. */
  public readonly scalingAction: appscaling.StepScalingAction;
  /** The alarm that applies `DesiredWorkers` every minute (always in ALARM while data flows). */
  public readonly scalingAlarm: cloudwatch.Alarm;
  /** In alarm when no queue metrics arrive (the publisher is down, so workers no longer scale). */
  public readonly metricsMissingAlarm: cloudwatch.Alarm;
  /** The queue-metrics publisher container in the scheduler task. */
  public readonly publisherContainer: ecs.ContainerDefinition;
  /** The scale-in protection container in the worker task. */
  public readonly protectionContainer: ecs.ContainerDefinition;
  private readonly dimensions: Record<string, string>;

  constructor(scope: Construct, id: string, props: WorkerAutoscalingProps) {
    super(scope, id);
    const problems = new Problems(this);
    // the worker service's place in the props: `workers` or `workerPools.<name>`
    const prop = props.workers.propPath;
    validateWorkerAutoscaling(problems, props, `${prop}.`);
    if (props.workers.component !== AirflowComponent.CELERY_WORKER) {
      problems.add(`workers must be the Celery worker service, got the ${props.workers.component.name} service; pass the AirflowService of AirflowComponent.CELERY_WORKER`);
    }
    if (props.scheduler.component !== AirflowComponent.SCHEDULER) {
      problems.add(`scheduler must be the scheduler service, got the ${props.scheduler.component.name} service; pass the AirflowService of AirflowComponent.SCHEDULER`);
    }
    // safe values while building: synth fails anyway on a negative min or a min above max
    const minCapacity = Math.max(0, props.minCapacity ?? DEFAULTS.workerScaling.minCapacity);
    const maxCapacity = Math.max(props.maxCapacity ?? DEFAULTS.workerScaling.maxCapacity, minCapacity, 1);
    const cooldown = props.scaleInCooldown ?? Duration.seconds(DEFAULTS.workerScaling.scaleInCooldownSeconds);
    const service = props.workers.service;
    const cluster = service.cluster;

    // --- the signal: published by the scheduler's queue-metrics sidecar, for every pool ---
    // Known at synth: the worker service's name would make the scheduler wait for the workers.
    this.dimensions = { ClusterName: cluster.clusterName, WorkerService: Names.uniqueId(service) };
    const publisher = QueueMetricsPublisher.of(props.scheduler);
    this.publisherContainer = publisher.container;
    const taken = publisher.addPool({
      dimensions: this.dimensions,
      queues: props.workers.queues ?? [...DEFAULTS.workers.queues],
      concurrency: props.workers.concurrency ?? DEFAULTS.workers.concurrency,
      minCapacity,
      maxCapacity,
      scaleInCooldownSeconds: cooldown.toSeconds(),
    }, `${prop} (${props.workers.node.path})`);
    for (const { queue, owner } of taken) {
      problems.add(`${prop}.queues: queue '${queue}' is consumed by ${owner} too; a queue belongs to one worker pool `
        + '(Airflow routes a task by its queue, and both pools would scale for it): remove it from one of them');
    }

    // not essential, restarted in place: while it is down, a busy worker may be chosen for
    // scale-in (Celery then finishes its tasks within the 120 s stop timeout), which beats
    // killing the worker now
    // It also drains a worker whose deployment was replaced: it needs the broker, to tell the
    // worker to stop taking tasks from its queues, and to read its task's and service's deployments.
    this.protectionContainer = scalingScriptContainer(props.workers, 'ScaleInProtection', 'scale-in-protection', 'protect', {
      [SCALING_ENV.period]: `${DEFAULTS.workerScaling.protectPeriodSeconds}`,
      [SCALING_ENV.protectionMinutes]: `${DEFAULTS.workerScaling.protectionMinutes}`,
      [SCALING_ENV.queues]: (props.workers.queues ?? [...DEFAULTS.workers.queues]).join(','),
      ...brokerEnvironment(props.workers.storage),
    }, brokerSecrets(props.workers.storage));
    const tasks = Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${cluster.clusterName}/*` });
    props.workers.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection', 'ecs:DescribeTasks'],
      resources: [tasks],
    }));
    props.workers.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecs:DescribeServices'],
      resources: [Stack.of(this).formatArn({ service: 'ecs', resource: 'service', resourceName: `${cluster.clusterName}/*` })],
    }));
    acknowledgeNag(props.workers.taskDefinition.taskRole, [NAG.taskProtection], true);

    // --- the policy: ExactCapacity = DesiredWorkers, re-applied every minute ---
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
    this.scalingAlarm = this.metricDesiredWorkers().createAlarm(this, 'ScalingAlarm', {
      alarmDescription: 'Sets the Airflow worker count to DesiredWorkers every minute (always in ALARM while the queue metrics flow; this is expected)',
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    this.scalingAlarm.addAlarmAction(new cwactions.ApplicationScalingAction(this.scalingAction));

    this.metricsMissingAlarm = new cloudwatch.Alarm(this, 'MetricsMissingAlarm', {
      alarmDescription: 'No Airflow queue metrics for 5 minutes: the queue-metrics sidecar of the scheduler is not publishing, so workers do not scale',
      metric: this.metricDesiredWorkers({ statistic: 'SampleCount', period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }

  /**
   * The workers the queue needs, as published (Maximum per minute by default).
   *
   * @param props metric options, such as another period or statistic
   */
  public metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DesiredWorkers', props);
  }

  /**
   * Task instances in the `queued` state on the workers' queues (Maximum per minute by default).
   *
   * @param props metric options, such as another period or statistic
   */
  public metricQueuedTasks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('QueuedTasks', props);
  }

  /**
   * Task instances in the `running` state on the workers' queues (Maximum per minute by default).
   *
   * @param props metric options, such as another period or statistic
   */
  public metricRunningTasks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RunningTasks', props);
  }

  private metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: this.dimensions,
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }
}
