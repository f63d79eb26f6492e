/**
 * Airflow's own metrics: an airflow-metrics sidecar in each component task that emits any worth
 * publishing, Airflow pointed at it, the grant to publish, and the dashboard's Airflow widgets.
 * (test/runtime/airflow-metrics.test.ts runs the sidecar; e2e scenario 12 runs it with Airflow.)
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AirflowOnEcs } from '../../src';
import { envOf, oneStack, synthError, taskDefinitions } from '../util';

const STATSD = {
  AIRFLOW__METRICS__STATSD_ON: 'True',
  AIRFLOW__METRICS__STATSD_HOST: '127.0.0.1',
  AIRFLOW__METRICS__STATSD_PORT: '8125',
  AIRFLOW__METRICS__STATSD_PREFIX: 'airflow',
};

/** Every task definition with its containers (worker pools share the main container's name). */
function tasks(template: Template) {
  return Object.entries<any>(template.findResources('AWS::ECS::TaskDefinition')).map(([logicalId, r]) => ({
    logicalId, containers: r.Properties.ContainerDefinitions as any[], role: r.Properties.TaskRoleArn,
  }));
}

describe('by default', () => {
  const { template } = oneStack({ workerPools: { heavy: { queues: ['heavy'] } } });
  const all = tasks(template);
  const withSidecar = all.filter(t => t.containers.some(c => c.Name === 'airflow-metrics'));

  test('the scheduler, dag-processor, triggerer and every worker pool have the sidecar; the api-server, migration and db clean do not', () => {
    const mains = withSidecar.map(t => t.containers.find(c => c.Essential !== false).Name).sort();
    expect(mains).toEqual(['celery-worker', 'celery-worker', 'dag-processor', 'scheduler', 'triggerer']);
  });

  test('Airflow sends StatsD to the sidecar on the task\'s loopback; the sidecar cannot stop the component', () => {
    for (const t of withSidecar) {
      const main = t.containers.find(c => c.Essential !== false);
      expect(envOf(main)).toEqual(expect.objectContaining(STATSD));
      const sidecar = t.containers.find(c => c.Name === 'airflow-metrics');
      expect(sidecar).toEqual(expect.objectContaining({
        Essential: false,
        RestartPolicy: { Enabled: true, RestartAttemptPeriod: 60 },
        EntryPoint: ['python3', '-c'],
        Image: main.Image,
        User: main.User,
      }));
      expect(envOf(sidecar)).toEqual(expect.objectContaining({
        CDK_AIRFLOW_STATSD_PORT: '8125',
        CDK_AIRFLOW_STATSD_PREFIX: 'airflow',
        CDK_AIRFLOW_METRICS_NAMESPACE: 'CdkAirflowEcs/Airflow',
        CDK_AIRFLOW_METRICS_PERIOD_SECONDS: '60',
      }));
    }
    const others = all.filter(t => !withSidecar.includes(t));
    for (const t of others) for (const c of t.containers) expect(envOf(c).AIRFLOW__METRICS__STATSD_ON).toBeUndefined();
  });

  test('each task role may put metrics in CdkAirflowEcs/Airflow only', () => {
    const policies = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter(p => p.Properties.PolicyDocument.Statement.some((s: any) => s.Action === 'cloudwatch:PutMetricData'
        && JSON.stringify(s.Condition) === JSON.stringify({ StringEquals: { 'cloudwatch:namespace': 'CdkAirflowEcs/Airflow' } })));
    const roles = policies.flatMap(p => p.Properties.Roles.map((r: any) => r.Ref));
    expect(roles.sort()).toEqual(withSidecar.map(t => t.role['Fn::GetAtt'][0]).sort());
  });

  test('the dashboard shows task successes and failures, executor and pool slots, DAG processing and triggers', () => {
    const body = JSON.stringify(Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    for (const title of ['Tasks: successes and failures (per minute)', 'Executor: open, queued and running slots', 'Pools: open and running slots',
      'DAG processing: total parse time (s) and import errors', 'Triggerer: running triggers and heartbeats']) {
      expect(body).toContain(`"title\\":\\"${title}`);
    }
    for (const metric of ['ti_successes', 'ti_failures', 'executor.open_slots', 'dag_processing.total_parse_time', 'triggers.running']) {
      expect(body).toContain(`\\"CdkAirflowEcs/Airflow\\",\\"${metric}\\"`);
    }
    expect(body).toContain('SEARCH(\'{CdkAirflowEcs/Airflow,ClusterName,Pool} MetricName=\\\\\\"pool.open_slots\\\\\\"');
  });
});

test('metricAirflow: an Airflow metric with the cluster dimension, per minute', () => {
  const stack = new Stack(new App(), 'S');
  const airflow = new AirflowOnEcs(stack, 'Airflow');
  const metric = airflow.monitoring.metricAirflow('pool.open_slots', { statistic: 'Minimum', dimensionsMap: { Pool: 'default_pool' } });
  new cloudwatch.Alarm(stack, 'NoOpenSlots', { metric, threshold: 1, evaluationPeriods: 5, comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD });
  const alarm = Object.values<any>(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'pool.open_slots' } }))[0];
  expect(alarm.Properties).toEqual(expect.objectContaining({ Namespace: 'CdkAirflowEcs/Airflow', Statistic: 'Minimum', Period: 60 }));
  expect(alarm.Properties.Dimensions.map((d: any) => d.Name).sort()).toEqual(['ClusterName', 'Pool']);
});

test('airflowMetrics: false: no sidecar, no StatsD, and StatsD may then go elsewhere', () => {
  const { template } = oneStack({
    monitoring: { airflowMetrics: false },
    environment: { AIRFLOW__METRICS__STATSD_ON: 'True', AIRFLOW__METRICS__STATSD_HOST: 'localhost', AIRFLOW__METRICS__STATSD_PORT: '18125' },
  });
  const tds = taskDefinitions(template);
  for (const t of tasks(template)) expect(t.containers.map(c => c.Name)).not.toContain('airflow-metrics');
  expect(envOf(tds.scheduler.containers[0])).toEqual(expect.objectContaining({ AIRFLOW__METRICS__STATSD_PORT: '18125' }));
  const body = JSON.stringify(Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
  expect(body).not.toContain('ti_failures');
});

test('with airflowMetrics on, the StatsD variables are the library\'s: setting one, anywhere, fails at synth naming the option', () => {
  const message = synthError(stack => new AirflowOnEcs(stack, 'Airflow', {
    environment: { AIRFLOW__METRICS__STATSD_HOST: 'datadog-agent' },
    workerPools: { heavy: { queues: ['heavy'], environment: { AIRFLOW__METRICS__STATSD_PORT: '9125' } } },
  }));
  expect(message).toContain('[S/Airflow] environment.AIRFLOW__METRICS__STATSD_HOST is set by cdk-airflow-ecs while monitoring.airflowMetrics is on '
    + '(Airflow sends StatsD to the airflow-metrics sidecar); remove it, or set monitoring.airflowMetrics: false to send StatsD elsewhere');
  expect(message).toContain('workerPools.heavy.environment.AIRFLOW__METRICS__STATSD_PORT is set by cdk-airflow-ecs while monitoring.airflowMetrics is on');
  // reported once, by the deployment (not again by the migration or the services)
  expect(message.match(/STATSD_HOST/g)).toHaveLength(1);
});
