/**
 * Operations: the alarms every deployment gets, one topic that routes all of them, failed
 * deployments reported, and the dashboard.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AirflowMonitoring, AirflowOnEcs, AirflowStorage, DagSource, GitCredentials } from '../../src';
import { oneStack, synthError, twoStacks } from '../util';

const alarmsOf = (template: Template) => Object.entries<any>(template.findResources('AWS::CloudWatch::Alarm'));
const alarmNamed = (template: Template, id: string) => {
  const found = alarmsOf(template).filter(([logicalId]) => logicalId.startsWith(`AirflowMonitoring${id}`));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
};

describe('the alarms of a default deployment (storage in its own stack)', () => {
  const topicStack = () => {
    const { servicesTemplate, airflow, servicesStack } = twoStacks({ workerPools: { heavy: { queues: ['heavy'] } } });
    return { template: servicesTemplate, airflow, stack: servicesStack };
  };
  const { template, airflow } = topicStack();

  test('the scheduler not heartbeating: its heartbeat older than 2 minutes for 5 minutes, or not reported at all', () => {
    const p = alarmNamed(template, 'SchedulerHeartbeatAlarm');
    expect(p).toEqual(expect.objectContaining({
      Namespace: 'CdkAirflowEcs/Airflow',
      MetricName: 'HeartbeatAge',
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 120,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      TreatMissingData: 'breaching',
    }));
    expect(p.Dimensions).toEqual([{ Name: 'ClusterName', Value: { Ref: expect.stringMatching(/^AirflowCluster/) } }, { Name: 'Component', Value: 'scheduler' }]);
    // the scheduler's sidecar publishes it there, with the same cluster dimension, and may
    const publisher = Object.values<any>(template.findResources('AWS::ECS::TaskDefinition'))
      .flatMap(td => td.Properties.ContainerDefinitions).find((c: any) => c.Name === 'queue-metrics');
    const heartbeats = publisher.Environment.find((e: any) => e.Name === 'CDK_AIRFLOW_HEARTBEATS').Value;
    expect(JSON.stringify(heartbeats)).toContain('CdkAirflowEcs/Airflow');
    expect(JSON.stringify(heartbeats)).toMatch(/"Ref":"AirflowCluster/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': ['CdkAirflowEcs/Workers', 'CdkAirflowEcs/Airflow'] } } })] },
    });
  });

  test('tasks piling up: per pool, the queue not empty for 30 minutes', () => {
    for (const [id, pool] of [['QueuedTasksAlarm', 'AirflowWorkersService'], ['QueuedTasksHeavyAlarm', 'AirflowWorkerPoolHeavyService']]) {
      const p = alarmNamed(template, id);
      expect(p).toEqual(expect.objectContaining({
        MetricName: 'QueuedTasks',
        Statistic: 'Minimum',
        Period: 300,
        EvaluationPeriods: 6,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }));
      expect(JSON.stringify(p.Dimensions)).toContain(pool);
    }
  });

  test('the database: CPU above 80%, free storage below 2 GiB, connections above 80% of what db.t4g.small accepts', () => {
    const cpu = alarmNamed(template, 'DatabaseCpuAlarm');
    expect(cpu).toEqual(expect.objectContaining({ Namespace: 'AWS/RDS', MetricName: 'CPUUtilization', Threshold: 80, Period: 900, ComparisonOperator: 'GreaterThanThreshold' }));
    // the instance of the storage stack, read from its SSM parameter (never an export: pitfall #24)
    expect(JSON.stringify(cpu.Dimensions)).toMatch(/"Ref":"SsmParameterValuecdkairflowecsStorage.*databaseinstanceidentifier/);
    expect(alarmNamed(template, 'DatabaseFreeStorageAlarm')).toEqual(expect.objectContaining({ MetricName: 'FreeStorageSpace', Threshold: 2 * 1024 ** 3, ComparisonOperator: 'LessThanThreshold' }));
    // db.t4g.small: 2 GiB -> about 202 connections; 80% of them
    expect(alarmNamed(template, 'DatabaseConnectionsAlarm')).toEqual(expect.objectContaining({ MetricName: 'DatabaseConnections', Threshold: 161 }));
  });

  test('the broker: memory above 80% on its busiest node', () => {
    const p = alarmNamed(template, 'BrokerMemoryAlarm');
    expect(p.Threshold).toBe(80);
    const expression = p.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe('MAX([memory0])');
    const node = p.Metrics.find((m: any) => m.Id === 'memory0').MetricStat.Metric;
    expect(node.MetricName).toBe('DatabaseMemoryUsagePercentage');
    // the replication group's first node: <replication group id>-001
    expect(JSON.stringify(node.Dimensions)).toMatch(/brokerreplicationgroupid.*-001/);
  });

  test('the api-server: no healthy target for 3 minutes; 10 or more 5xx in 5 minutes', () => {
    expect(alarmNamed(template, 'ApiServerUnhealthyAlarm')).toEqual(expect.objectContaining({
      MetricName: 'HealthyHostCount', Threshold: 1, EvaluationPeriods: 3, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    }));
    const errors = alarmNamed(template, 'ApiServer5xxAlarm');
    expect(errors.Threshold).toBe(10);
    expect(errors.Metrics.map((m: any) => m.MetricStat?.Metric.MetricName).filter(Boolean).sort()).toEqual(['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count']);
  });

  test('failed deployments of every component service are caught by an EventBridge rule', () => {
    const rules = Object.values<any>(template.findResources('AWS::Events::Rule'));
    const rule = rules.find(r => JSON.stringify(r.Properties.EventPattern).includes('SERVICE_DEPLOYMENT_FAILED'))!;
    expect(rule.Properties.EventPattern).toEqual({
      'source': ['aws.ecs'],
      'detail-type': ['ECS Deployment State Change'],
      'resources': expect.any(Array),
      'detail': { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
    });
    const services = Object.keys(template.findResources('AWS::ECS::Service'));
    expect(rule.Properties.EventPattern.resources.map((r: any) => r.Ref).sort()).toEqual(services.sort());
    // no topic given: no target
    expect(rule.Properties.Targets).toBeUndefined();
  });

  test('without a topic no alarm of the library has actions, and every one is listed', () => {
    const ours = alarmsOf(template).filter(([id]) => !/ScalingAlarm/.test(id));
    for (const [, a] of ours) {
      expect(a.Properties.AlarmActions).toBeUndefined();
      expect(a.Properties.OKActions).toBeUndefined();
    }
    // every alarm but the two that drive the scaling policies
    expect(airflow.monitoring.alarms).toHaveLength(ours.length);
    // scheduler heartbeat, queued x2, database x3, broker, api-server x2, metrics missing x2
    expect(ours).toHaveLength(1 + 2 + 3 + 1 + 2 + 2);
  });

  test('a dashboard with the pools, the components, the database, the broker and the load balancer', () => {
    const dashboards = Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const title of ['Alarms', 'Workers: queued and running tasks', 'Pool heavy: desired and running workers', 'Components: CPU %', 'Components: memory %',
      'Database: CPU % and connections', 'Database: free storage (GiB)', 'Database: freeable memory (MiB)', 'Broker: memory % and engine CPU % (busiest node)',
      'Load balancer: 5xx', 'Load balancer: response time (s) and healthy api-servers']) {
      expect(body).toContain(`"title\\":\\"${title}`);
    }
    for (const metric of ['QueuedTasks', 'DesiredWorkers', 'RunningTaskCount', 'CPUUtilization', 'MemoryUtilization', 'FreeableMemory', 'EngineCPUUtilization', 'TargetResponseTime']) {
      expect(body).toContain(metric);
    }
  });
});

test('one alarmTopic routes every alarm (ALARM and OK), the metrics-missing and git-sync ones too, and failed deployments', () => {
  const app = new App();
  const stack = new Stack(app, 'Airflow');
  const topic = new sns.Topic(stack, 'Alarms');
  const repoSecret = new secretsmanager.Secret(stack, 'Token');
  new AirflowOnEcs(stack, 'Airflow', {
    monitoring: { alarmTopic: topic },
    dags: DagSource.gitSync({ repository: 'https://github.com/example/dags.git', credentials: GitCredentials.httpsToken({ secret: repoSecret }) }),
  });
  const template = Template.fromStack(stack);
  const routed = alarmsOf(template).filter(([id]) => !/ScalingAlarm/.test(id));
  // scheduler heartbeat, queued, database x3, broker, api-server x2, metrics missing, git-sync on the dag-processor, the
  // triggerer and the workers (the components that read DAG files)
  expect(routed.length).toBe(1 + 1 + 3 + 1 + 2 + 1 + 3);
  for (const [id, a] of routed) {
    expect([id, a.Properties.AlarmActions]).toEqual([id, [{ Ref: expect.stringMatching(/^Alarms/) }]]);
    expect([id, a.Properties.OKActions]).toEqual([id, [{ Ref: expect.stringMatching(/^Alarms/) }]]);
  }
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] } }),
    Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^Alarms') } })],
  });
  // EventBridge may publish to the topic
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish' })]) },
  });
});

test('thresholds and the queue period are options', () => {
  const { template } = oneStack({
    monitoring: {
      queuedTasksAlarmPeriod: Duration.minutes(15),
      databaseCpuPercent: 90,
      databaseFreeStorageGiB: 5,
      databaseConnectionsPercent: 50,
      brokerMemoryPercent: 70,
      apiServer5xxCount: 3,
    },
  });
  expect(alarmNamed(template, 'QueuedTasksAlarm').EvaluationPeriods).toBe(3);
  expect(alarmNamed(template, 'DatabaseCpuAlarm').Threshold).toBe(90);
  expect(alarmNamed(template, 'DatabaseFreeStorageAlarm').Threshold).toBe(5 * 1024 ** 3);
  expect(alarmNamed(template, 'DatabaseConnectionsAlarm').Threshold).toBe(101);
  expect(alarmNamed(template, 'BrokerMemoryAlarm').Threshold).toBe(70);
  expect(alarmNamed(template, 'ApiServer5xxAlarm').Threshold).toBe(3);
});

test('no dashboard when asked', () => {
  const { template, airflow } = oneStack({ monitoring: { dashboard: false } });
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  expect(airflow.monitoring.dashboard).toBeUndefined();
});

test('storage from attributes: database and broker alarms only with their identifiers', () => {
  const build = (ids: boolean) => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const secret = (id: string) => secretsmanager.Secret.fromSecretNameV2(stack, id, id);
    const storage = AirflowStorage.fromStorageAttributes(stack, 'Storage', {
      vpc,
      databaseEndpointAddress: 'db.example.internal',
      databaseSecret: secret('Db'),
      databaseSecurityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'DbSg', 'sg-12345678')],
      brokerEndpointAddress: 'broker.example.internal',
      brokerSecurityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'BrokerSg', 'sg-87654321')],
      brokerAuthTokenSecret: secret('Broker'),
      fernetKeySecret: secret('Fernet'),
      jwtSecret: secret('Jwt'),
      apiSecretKeySecret: secret('Api'),
      adminPasswordSecret: secret('Admin'),
      logBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'logs'),
      databaseInstanceClass: ids ? 'db.m7g.large' : undefined,
      databaseInstanceIdentifier: ids ? 'airflow-db' : undefined,
      brokerCacheNodeIds: ids ? ['airflow-broker-001', 'airflow-broker-002'] : undefined,
    });
    const airflow = new AirflowOnEcs(stack, 'Airflow', { storage });
    return { airflow, template: Template.fromStack(stack) };
  };
  const without = build(false);
  expect(without.airflow.monitoring.databaseCpuAlarm).toBeUndefined();
  expect(without.airflow.monitoring.brokerMemoryAlarm).toBeUndefined();
  expect(JSON.stringify(without.template.toJSON())).not.toContain('AWS/RDS');
  const withIds = build(true);
  expect(alarmNamed(withIds.template, 'DatabaseCpuAlarm').Dimensions).toEqual([{ Name: 'DBInstanceIdentifier', Value: 'airflow-db' }]);
  // db.m7g.large: 8 GiB -> 811 connections; 80%
  expect(alarmNamed(withIds.template, 'DatabaseConnectionsAlarm').Threshold).toBe(648);
  const broker = alarmNamed(withIds.template, 'BrokerMemoryAlarm');
  expect(broker.Metrics.find((m: any) => m.Expression).Expression).toBe('MAX([memory0, memory1])');
});

test('bad thresholds fail at synth, each naming the option and the value', () => {
  const error = synthError(stack => new AirflowOnEcs(stack, 'Airflow', {
    monitoring: { queuedTasksAlarmPeriod: Duration.minutes(2), databaseCpuPercent: 120, brokerMemoryPercent: 0, apiServer5xxCount: -1 },
  }));
  expect(error).toContain('monitoring.queuedTasksAlarmPeriod (2 minutes) must be a multiple of 5 minutes from 5 to 1440');
  expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { monitoring: { queuedTasksAlarmPeriod: Duration.minutes(7) } })))
    .toContain('monitoring.queuedTasksAlarmPeriod (7 minutes) must be a multiple of 5 minutes');
  expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { monitoring: { queuedTasksAlarmPeriod: Duration.hours(25) } })))
    .toContain('monitoring.queuedTasksAlarmPeriod (1500 minutes) must be a multiple of 5 minutes from 5 to 1440');
  expect(error).toContain('monitoring.databaseCpuPercent (120) must be a percentage above 0 and at most 100');
  expect(error).toContain('monitoring.brokerMemoryPercent (0) must be a percentage');
  expect(error).toContain('monitoring.apiServer5xxCount (-1) must be above 0');
});

// pitfall #35: Components started in the wrong order
test('on the first deployment, every worker service starts after the api-server (Service Connect names)', () => {
  const { template } = oneStack({ workerPools: { heavy: { queues: ['heavy'] } } });
  const services = template.findResources('AWS::ECS::Service');
  const apiServer = Object.keys(services).find(id => id.startsWith('AirflowApiServerService'))!;
  const workers = Object.entries<any>(services).filter(([id]) => /^Airflow(Workers|WorkerPoolHeavy)Service/.test(id));
  expect(workers).toHaveLength(2);
  for (const [, w] of workers) expect(w.DependsOn).toContain(apiServer);
});

test('the README lists every alarm with its default threshold', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Alarms'));
  const monitoring: AirflowMonitoring = oneStack().airflow.monitoring;
  const alarmProps = Object.keys(monitoring).filter(k => /Alarms?$/.test(k));
  expect(alarmProps).toHaveLength(8);
  for (const prop of [...alarmProps, 'deploymentFailures', 'metricsMissingAlarm', 'syncErrorsAlarm']) {
    expect([prop, section.includes(`\`${prop}\``)]).toEqual([prop, true]);
  }
});
