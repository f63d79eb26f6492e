import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AIRFLOW_USER } from '../private/defaults';
import { acknowledgeNag, NAG } from '../private/nag';
import { HEARTBEAT_NAMESPACE } from '../scaling/queue-metrics';
import type { AirflowService } from '../service/airflow-service';

/** The sidecar's program: StatsD in, aggregated CloudWatch metrics out. */
const STATSD_SCRIPT = fs.readFileSync(path.join(__dirname, '..', '..', 'assets', 'airflow-metrics', 'airflow_statsd_cloudwatch.py'), 'utf8');

/** Airflow's metrics go to the same namespace as the components' heartbeat ages. */
export const AIRFLOW_METRICS_NAMESPACE = HEARTBEAT_NAMESPACE;

/** The StatsD port on the task's loopback interface. */
export const STATSD_PORT = 8125;

/** What Airflow puts before every metric name. */
const STATSD_PREFIX = 'airflow';

/** Seconds the sidecar adds metrics up for before one PutMetricData (CloudWatch's standard resolution). */
const PERIOD_SECONDS = 60;

/** The variables that send an Airflow component's metrics to the sidecar (all in MANAGED_VARIABLES). */
export const STATSD_ENVIRONMENT: Record<string, string> = {
  AIRFLOW__METRICS__STATSD_ON: 'True',
  AIRFLOW__METRICS__STATSD_HOST: '127.0.0.1',
  AIRFLOW__METRICS__STATSD_PORT: `${STATSD_PORT}`,
  AIRFLOW__METRICS__STATSD_PREFIX: STATSD_PREFIX,
};

const ID = 'AirflowMetrics';

/**
 * The `airflow-metrics` sidecar of one component's task: Airflow sends StatsD to it on the task's
 * loopback interface; it keeps a fixed set of metrics (none named after a DAG, task or file),
 * adds them up per minute and publishes them to CloudWatch (namespace `CdkAirflowEcs/Airflow`,
 * dimension `ClusterName`).
 */
export class AirflowMetricsSidecar extends Construct {
  /** The component's sidecar, created on first use. */
  public static of(service: AirflowService): AirflowMetricsSidecar {
    return service.node.tryFindChild(ID) as AirflowMetricsSidecar | undefined ?? new AirflowMetricsSidecar(service);
  }

  public readonly container: ecs.ContainerDefinition;

  private constructor(service: AirflowService) {
    super(service, ID);
    const name = 'airflow-metrics';
    this.container = service.taskDefinition.addContainer('AirflowMetrics', {
      containerName: name,
      image: service.image,
      user: AIRFLOW_USER,
      entryPoint: ['python3', '-c'],
      command: [STATSD_SCRIPT],
      environment: {
        CDK_AIRFLOW_STATSD_PORT: `${STATSD_PORT}`,
        CDK_AIRFLOW_STATSD_PREFIX: STATSD_PREFIX,
        CDK_AIRFLOW_METRICS_PERIOD_SECONDS: `${PERIOD_SECONDS}`,
        CDK_AIRFLOW_METRICS_NAMESPACE: AIRFLOW_METRICS_NAMESPACE,
        CDK_AIRFLOW_METRICS_DIMENSIONS: Stack.of(this).toJsonString({ ClusterName: service.service.cluster.clusterName }),
      },
      // Metrics must not take the component down: not essential, restarted in place when it exits
      // after running a minute.
      essential: false,
      enableRestartPolicy: true,
      restartAttemptPeriod: Duration.seconds(60),
      memoryReservationMiB: 64,
      logging: ecs.LogDrivers.awsLogs({ logGroup: service.logGroup, streamPrefix: name }),
    });
    for (const c of service.airflowContainers) for (const [variable, value] of Object.entries(STATSD_ENVIRONMENT)) c.addEnvironment(variable, value);

    const policy = new iam.Policy(this, 'Policy', {
      roles: [service.taskDefinition.taskRole],
      statements: [new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': AIRFLOW_METRICS_NAMESPACE } },
      })],
    });
    service.service.node.addDependency(policy);
    acknowledgeNag(policy, [NAG.putMetricData]);
  }
}
