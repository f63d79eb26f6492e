import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { AIRFLOW_METRICS_NAMESPACE } from './airflow-metrics';
import { AirflowMonitoringOptions } from './monitoring-options';
import { DEFAULTS } from '../private/defaults';
import { isConcrete, Problems } from '../private/validation';
import { HEARTBEAT_NAMESPACE } from '../scaling/queue-metrics';
import type { WorkerPool } from '../scaling/worker-pool';
import type { AirflowService } from '../service/airflow-service';
import type { IAirflowStorage } from '../storage/i-airflow-storage';
import { postgresMaxConnections } from '../storage/postgres-connections';

/** What `AirflowMonitoring` watches, besides its options. */
export interface AirflowMonitoringProps extends AirflowMonitoringOptions {
  /** The database and the broker (their alarms and widgets need their identifiers). */
  readonly storage: IAirflowStorage;
  /** Every component service: CPU, memory and running tasks on the dashboard, deployment failures. */
  readonly services: AirflowService[];
  /** The worker pools: queue alarms and per-pool widgets. */
  readonly workerPools: WorkerPool[];
  /** The api-server's load balancer. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The api-server's target group. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
}

/**
 * The alarms and the dashboard of an Airflow deployment (`airflow.monitoring` of `AirflowOnEcs`).
 * With an `alarmTopic`, every alarm notifies it on ALARM and OK, and failed service deployments
 * reach it through an EventBridge rule.
 */
export class AirflowMonitoring extends Construct {
  /** Every alarm of the deployment, including each pool's metrics-missing and each git-sync alarm. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** The scheduler has not heartbeated for 2 minutes, 5 minutes in a row (or no heartbeat is published). */
  public readonly schedulerHeartbeatAlarm: cloudwatch.Alarm;
  /** Per worker pool, in `workerPools` order: its queue has not been empty for `queuedTasksAlarmPeriod`. */
  public readonly queuedTasksAlarms: cloudwatch.Alarm[];
  /** The api-server has no healthy target behind the load balancer. */
  public readonly apiServerUnhealthyAlarm: cloudwatch.Alarm;
  /** 5xx responses from the load balancer or the api-server. */
  public readonly apiServer5xxAlarm: cloudwatch.Alarm;
  /** Database CPU high (when the database instance is known). */
  public readonly databaseCpuAlarm?: cloudwatch.Alarm;
  /** Database free storage low (when the database instance is known). */
  public readonly databaseFreeStorageAlarm?: cloudwatch.Alarm;
  /** Database connections near what the instance class accepts (when the instance and its class are known). */
  public readonly databaseConnectionsAlarm?: cloudwatch.Alarm;
  /** Broker memory high on its busiest node (when the broker's nodes are known). */
  public readonly brokerMemoryAlarm?: cloudwatch.Alarm;
  /**
   * ECS deployment failures of any component service (the deployment circuit breaker rolled it
   * back): an EventBridge rule, whose target is the alarm topic when one is given.
   */
  public readonly deploymentFailures: events.Rule;
  /** The dashboard, unless `dashboard: false`. */
  public readonly dashboard?: cloudwatch.Dashboard;

  private readonly clusterName: string;

  constructor(scope: Construct, id: string, props: AirflowMonitoringProps) {
    super(scope, id);
    const problems = new Problems(this);
    const d = DEFAULTS.monitoring;
    const queuedMinutes = props.queuedTasksAlarmPeriod && !props.queuedTasksAlarmPeriod.isUnresolved()
      ? props.queuedTasksAlarmPeriod.toMinutes({ integral: false }) : undefined;
    if (queuedMinutes !== undefined && (queuedMinutes < 5 || queuedMinutes > 1440 || queuedMinutes % 5 !== 0)) {
      problems.add(`monitoring.queuedTasksAlarmPeriod (${queuedMinutes} minutes) must be a multiple of 5 minutes from 5 to 1440 (the alarm looks at 5-minute periods, at most a day); use e.g. Duration.minutes(30)`);
    }
    for (const [prop, value] of [['databaseCpuPercent', props.databaseCpuPercent], ['databaseConnectionsPercent', props.databaseConnectionsPercent], ['brokerMemoryPercent', props.brokerMemoryPercent]] as const) {
      if (isConcrete(value) && (value <= 0 || value > 100)) problems.add(`monitoring.${prop} (${value}) must be a percentage above 0 and at most 100`);
    }
    for (const [prop, value] of [['databaseFreeStorageGiB', props.databaseFreeStorageGiB], ['apiServer5xxCount', props.apiServer5xxCount]] as const) {
      if (isConcrete(value) && value <= 0) problems.add(`monitoring.${prop} (${value}) must be above 0`);
    }

    const fiveMinutes = Duration.minutes(5);
    const own: cloudwatch.Alarm[] = [];
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, options: Omit<cloudwatch.CreateAlarmOptions, 'evaluationPeriods'> & { evaluationPeriods?: number }) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      own.push(a);
      return a;
    };

    // --- the scheduler: seconds since its last heartbeat, published by its queue-metrics sidecar ---
    this.clusterName = props.services[0].service.cluster.clusterName;
    this.schedulerHeartbeatAlarm = alarm('SchedulerHeartbeatAlarm', this.metricHeartbeatAge('scheduler'), {
      alarmDescription: 'The Airflow scheduler has not heartbeated for over 2 minutes, for 5 minutes (or its task is down, so nothing reports): '
        + 'no task is scheduled; see the scheduler service\'s events and log',
      threshold: 120,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // --- tasks piling up, per pool: the queue's minimum over each 5 minutes never reached 0 ---
    const queuedPeriods = Math.max(1, Math.floor((queuedMinutes ?? d.queuedTasksAlarmMinutes) / 5));
    this.queuedTasksAlarms = props.workerPools.map(pool => alarm(`QueuedTasks${poolId(pool)}Alarm`,
      pool.autoscaling.metricQueuedTasks({ statistic: 'Minimum', period: fiveMinutes }), {
        alarmDescription: `Airflow tasks on ${describePool(pool)} have waited in queued for ${queuedPeriods * 5} minutes without the queue emptying: `
          + 'workers do not start (see the worker service\'s events) or cannot keep up (raise maxCapacity)',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: queuedPeriods,
      }));

    // --- the api-server behind the load balancer ---
    this.apiServerUnhealthyAlarm = alarm('ApiServerUnhealthyAlarm', props.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }), {
      alarmDescription: 'The Airflow api-server has had no healthy target behind its load balancer for 3 minutes: the UI, the REST API and the Execution API are down',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      // no data: the target group has no target at all
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const errors5xx = new cloudwatch.MathExpression({
      expression: 'FILL(elb, 0) + FILL(target, 0)',
      usingMetrics: {
        elb: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: fiveMinutes }),
        target: props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', period: fiveMinutes }),
      },
      label: '5xx responses',
      period: fiveMinutes,
    });
    this.apiServer5xxAlarm = alarm('ApiServer5xxAlarm', errors5xx, {
      alarmDescription: 'The Airflow api-server or its load balancer answered with 5xx errors: see the api-server log',
      threshold: props.apiServer5xxCount ?? d.apiServer5xxCount,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    // --- the metadata database ---
    const database = databaseMetrics(props.storage);
    if (database) {
      this.databaseCpuAlarm = alarm('DatabaseCpuAlarm', database('CPUUtilization', 'Average', Duration.minutes(15)), {
        alarmDescription: 'The Airflow metadata database\'s CPU has been high for 15 minutes: raise its instance class, or run db clean',
        threshold: props.databaseCpuPercent ?? d.databaseCpuPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      const freeGiB = props.databaseFreeStorageGiB ?? d.databaseFreeStorageGiB;
      this.databaseFreeStorageAlarm = alarm('DatabaseFreeStorageAlarm', database('FreeStorageSpace', 'Minimum', fiveMinutes), {
        alarmDescription: `The Airflow metadata database has less than ${freeGiB} GiB of free storage: raise its maxAllocatedStorageGiB, or run db clean`,
        threshold: freeGiB * 1024 ** 3,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      });
      const instanceClass = props.storage.databaseInstanceClass;
      const capacity = instanceClass && !Token.isUnresolved(instanceClass) ? postgresMaxConnections(instanceClass) : undefined;
      if (capacity !== undefined) {
        const percent = props.databaseConnectionsPercent ?? d.databaseConnectionsPercent;
        this.databaseConnectionsAlarm = alarm('DatabaseConnectionsAlarm', database('DatabaseConnections', 'Maximum', fiveMinutes), {
          alarmDescription: `The Airflow metadata database has more than ${percent}% of the about ${capacity} connections ${instanceClass} accepts: `
            + 'raise its instance class, or lower the workers\' maxCapacity or concurrency',
          threshold: Math.floor(capacity * percent / 100),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        });
      }
    }

    // --- the Celery broker ---
    const brokerMemory = brokerMaximum(props.storage, 'DatabaseMemoryUsagePercentage', 'broker memory %', 'memory');
    if (brokerMemory) {
      this.brokerMemoryAlarm = alarm('BrokerMemoryAlarm', brokerMemory, {
        alarmDescription: 'The Airflow Celery broker\'s memory is nearly full: messages pile up (no worker takes them); raise the broker nodeType or check the workers',
        threshold: props.brokerMemoryPercent ?? d.brokerMemoryPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
    }

    // --- failed deployments: events, not a metric ---
    this.deploymentFailures = new events.Rule(this, 'DeploymentFailures', {
      description: 'An Airflow component\'s ECS deployment failed and was rolled back',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Deployment State Change'],
        resources: props.services.map(s => s.service.serviceArn),
        detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
      },
    });

    const inherited = [
      ...props.workerPools.map(p => p.autoscaling.metricsMissingAlarm),
      ...props.services.map(s => s.dagSource?.syncErrorsAlarm).filter((a): a is cloudwatch.IAlarm => a !== undefined),
    ];
    this.alarms = [...own, ...inherited];
    if (props.alarmTopic) {
      const action = new cwactions.SnsAction(props.alarmTopic);
      for (const a of own) {
        a.addAlarmAction(action);
        a.addOkAction(action);
      }
      for (const a of inherited) {
        if (a instanceof cloudwatch.Alarm) {
          a.addAlarmAction(action);
          a.addOkAction(action);
        }
      }
      this.deploymentFailures.addTarget(new targets.SnsTopic(props.alarmTopic));
    }

    if (props.dashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        dashboardName: props.dashboardName,
        defaultInterval: Duration.hours(3),
        widgets: dashboardRows(props, this.alarms, this),
      });
    }
  }

  /**
   * Seconds since a long-running component last heartbeated (its freshest running job in
   * Airflow's job table), published every 30 s by the scheduler's queue-metrics sidecar (Maximum
   * per minute by default).
   *
   * @param component `scheduler`, `dag-processor` or `triggerer`
   * @param props metric options
   */
  public metricHeartbeatAge(component: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: HEARTBEAT_NAMESPACE,
      metricName: 'HeartbeatAge',
      dimensionsMap: { ClusterName: this.clusterName, Component: component },
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /**
   * One of Airflow's own metrics, as the `airflow-metrics` sidecars publish it (with
   * `monitoring.airflowMetrics`, the default): its StatsD name without the `airflow.` prefix, such
   * as `ti_failures`, `scheduler_heartbeat` or `executor.open_slots`; for pool metrics, such as
   * `pool.open_slots`, the pool in `dimensionsMap: { Pool: 'default_pool' }`. The README lists
   * every metric published. Counters are per minute (use `Sum`), gauges and timers statistic sets.
   *
   * @param metricName the metric's StatsD name without the prefix
   * @param props metric options; `dimensionsMap` adds to the `ClusterName` dimension
   */
  public metricAirflow(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: AIRFLOW_METRICS_NAMESPACE,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(1),
      ...props,
      dimensionsMap: { ClusterName: this.clusterName, ...props?.dimensionsMap },
    });
  }
}

function poolId(pool: WorkerPool): string {
  return pool.name === 'default' ? '' : pool.name.split('-').map(w => w[0].toUpperCase() + w.slice(1)).join('');
}

function describePool(pool: WorkerPool): string {
  return pool.name === 'default' ? `the workers' queues (${pool.queues.join(', ')})` : `worker pool ${pool.name}'s queues (${pool.queues.join(', ')})`;
}

/** The database's metric by name, or undefined when the instance is unknown. */
function databaseMetrics(storage: IAirflowStorage) {
  const id = storage.databaseInstanceIdentifier;
  if (!id) return undefined;
  return (metricName: string, statistic: string, period: Duration) => new cloudwatch.Metric({
    namespace: 'AWS/RDS', metricName, dimensionsMap: { DBInstanceIdentifier: id }, statistic, period,
  });
}

/** The maximum of a broker metric over its nodes, or undefined when they are unknown. */
function brokerMaximum(storage: IAirflowStorage, metricName: string, label: string, idPrefix: string): cloudwatch.IMetric | undefined {
  const nodes = storage.brokerCacheNodeIds;
  if (!nodes || nodes.length === 0) return undefined;
  const usingMetrics = Object.fromEntries(nodes.map((node, i) => [`${idPrefix}${i}`, new cloudwatch.Metric({
    namespace: 'AWS/ElastiCache', metricName, dimensionsMap: { CacheClusterId: node }, statistic: 'Maximum', period: Duration.minutes(5),
  })]));
  return new cloudwatch.MathExpression({ expression: `MAX([${Object.keys(usingMetrics).join(', ')}])`, usingMetrics, label, period: Duration.minutes(5) });
}

/** The dashboard: alarms; workers per pool; components; database; broker; load balancer. */
function dashboardRows(props: AirflowMonitoringProps, alarms: cloudwatch.IAlarm[], monitoring: AirflowMonitoring): cloudwatch.IWidget[][] {
  const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
    new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...options });
  const rows: cloudwatch.IWidget[][] = [
    [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: Math.min(2 + Math.ceil(alarms.length / 4) * 1, 6) })],
  ];
  // one row per pool: its queue, what it runs, and its workers (wanted and running)
  for (const pool of props.workerPools) {
    const name = pool.name === 'default' ? 'Workers' : `Pool ${pool.name}`;
    rows.push([
      graph(`${name}: queued and running tasks`, [
        pool.autoscaling.metricQueuedTasks({ label: 'queued' }),
        pool.autoscaling.metricRunningTasks({ label: 'running' }),
      ]),
      graph(`${name}: desired and running workers`, [
        pool.autoscaling.metricDesiredWorkers({ label: 'desired' }),
        runningTasks(pool.service, 'running'),
      ]),
      graph(`${name}: CPU and memory %`, [
        pool.service.service.metricCpuUtilization({ label: 'CPU', period: Duration.minutes(1) }),
        pool.service.service.metricMemoryUtilization({ label: 'memory', period: Duration.minutes(1) }),
      ], { leftYAxis: { min: 0, max: 100 } }),
    ]);
  }
  const components = props.services.filter(s => !props.workerPools.some(p => p.service === s));
  // a dag-processor running the triggerer too (compactControlPlane) is `dag-processor + triggerer`
  const componentsOf = (s: AirflowService) => s.components.map(c => c.name).join(' + ');
  const airflowMetrics = props.airflowMetrics ?? true;
  const heartbeats = graph('Heartbeat age (s): scheduler, dag-processor, triggerer',
    ['scheduler', 'dag-processor', 'triggerer'].map(c => monitoring.metricHeartbeatAge(c, { label: c })), airflowMetrics ? {} : { width: 24 });
  if (airflowMetrics) {
    // Airflow's own metrics, from the airflow-metrics sidecars
    const airflow = (name: string, label: string, statistic = 'Sum') => monitoring.metricAirflow(name, { label, statistic });
    rows.push([
      heartbeats,
      graph('Tasks: successes and failures (per minute)', [airflow('ti_successes', 'successes')], {
        right: [airflow('ti_failures', 'failures')],
      }),
      graph('Executor: open, queued and running slots', [
        airflow('executor.open_slots', 'open', 'Minimum'),
        airflow('executor.queued_tasks', 'queued', 'Maximum'),
        airflow('executor.running_tasks', 'running', 'Maximum'),
      ]),
    ]);
    rows.push([
      graph('Pools: open and running slots', [
        poolSearch(monitoring, 'pool.open_slots', 'open'),
        poolSearch(monitoring, 'pool.running_slots', 'running'),
      ]),
      graph('DAG processing: total parse time (s) and import errors', [airflow('dag_processing.total_parse_time', 'parse time', 'Maximum')], {
        right: [airflow('dag_processing.import_errors', 'import errors', 'Maximum'), airflow('dagbag_size', 'DAGs', 'Maximum')],
      }),
      graph('Triggerer: running triggers and heartbeats', [airflow('triggers.running', 'running triggers', 'Maximum')], {
        right: [airflow('triggerer_heartbeat', 'heartbeats/min')],
      }),
    ]);
  } else {
    rows.push([heartbeats]);
  }
  rows.push([
    graph('Components: CPU %', components.map(s => s.service.metricCpuUtilization({ label: componentsOf(s), period: Duration.minutes(1) })), { leftYAxis: { min: 0, max: 100 } }),
    graph('Components: memory %', components.map(s => s.service.metricMemoryUtilization({ label: componentsOf(s), period: Duration.minutes(1) })), { leftYAxis: { min: 0, max: 100 } }),
    graph('Components: running tasks', components.map(s => runningTasks(s, componentsOf(s)))),
  ]);
  const database = databaseMetrics(props.storage);
  if (database) {
    const minute = Duration.minutes(1);
    rows.push([
      graph('Database: CPU % and connections', [database('CPUUtilization', 'Average', minute).with({ label: 'CPU %' })], {
        right: [database('DatabaseConnections', 'Maximum', minute).with({ label: 'connections' })], width: 8,
      }),
      graph('Database: free storage (GiB)', [new cloudwatch.MathExpression({
        expression: 'free / 1073741824', usingMetrics: { free: database('FreeStorageSpace', 'Minimum', Duration.minutes(5)) }, label: 'free storage',
      })]),
      graph('Database: freeable memory (MiB)', [new cloudwatch.MathExpression({
        expression: 'mem / 1048576', usingMetrics: { mem: database('FreeableMemory', 'Minimum', Duration.minutes(5)) }, label: 'freeable memory',
      })]),
    ]);
  }
  const brokerMemory = brokerMaximum(props.storage, 'DatabaseMemoryUsagePercentage', 'memory %', 'memory');
  const brokerCpu = brokerMaximum(props.storage, 'EngineCPUUtilization', 'engine CPU %', 'cpu');
  const lb = [
    graph('Load balancer: 5xx', [
      props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', label: 'load balancer 5xx' }),
      props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', label: 'api-server 5xx' }),
    ]),
    graph('Load balancer: response time (s) and healthy api-servers', [
      props.targetGroup.metrics.targetResponseTime({ statistic: 'p95', label: 'p95 response time' }),
    ], { right: [props.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', label: 'healthy hosts' })] }),
  ];
  rows.push(brokerMemory && brokerCpu ? [graph('Broker: memory % and engine CPU % (busiest node)', [brokerMemory, brokerCpu]), ...lb] : lb);
  return rows;
}

/** One line per Airflow pool (a search: pools come and go with the users' DAGs). */
function poolSearch(monitoring: AirflowMonitoring, metricName: string, label: string): cloudwatch.IMetric {
  const cluster = monitoring.metricAirflow(metricName).dimensions!.ClusterName;
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${AIRFLOW_METRICS_NAMESPACE},ClusterName,Pool} MetricName="${metricName}" ClusterName="${cluster}"', 'Maximum', 60)`,
    label,
    period: Duration.minutes(1),
  });
}

/** A service's running tasks (Container Insights). */
function runningTasks(service: AirflowService, label: string): cloudwatch.IMetric {
  return new cloudwatch.Metric({
    namespace: 'ECS/ContainerInsights',
    metricName: 'RunningTaskCount',
    dimensionsMap: { ClusterName: service.service.cluster.clusterName, ServiceName: service.service.serviceName },
    statistic: 'Maximum',
    period: Duration.minutes(1),
    label,
  });
}
