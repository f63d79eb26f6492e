import { spawnSync } from 'child_process';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowComponent, AirflowOnEcs, AirflowOnEcsProps, AirflowService, AirflowStorage, WorkerAutoscaling } from '../../src';
import { exactCapacitySteps } from '../../src/scaling/queue-metrics';
import { postgresMaxConnections } from '../../src/storage/postgres-connections';
import { COMPONENTS, envOf, oneStack, publishedPools, synthError, taskDefinitions, upstreamImage } from '../util';

describe('WorkerAutoscaling in AirflowOnEcs, default settings', () => {
  const { template, airflow, stack } = oneStack();
  const tds = taskDefinitions(template);
  const workerServiceId = Object.entries<any>(template.findResources('AWS::ECS::Service'))
    .find(([, s]) => s.Properties.TaskDefinition.Ref === tds['celery-worker'].logicalId)![0];

  test('a scalable target on the worker service with the documented bounds (0–10)', () => {
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'ecs',
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 0,
      MaxCapacity: 10,
      ResourceId: { 'Fn::Join': ['', ['service/', { Ref: Match.stringLikeRegexp('Cluster') }, '/', { 'Fn::GetAtt': [workerServiceId, 'Name'] }]] },
    });
    expect(airflow.workerAutoscaling).toBeInstanceOf(WorkerAutoscaling);
  });

  // pitfall #51: Workers scaled 1–10 on CPU/memory
  test('an ExactCapacity step policy maps DesiredWorkers to the worker count, driven by an always-on alarm', () => {
    const policy = Object.entries<any>(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'));
    expect(policy).toHaveLength(1);
    const [policyId, p] = policy[0];
    const cfg = p.Properties.StepScalingPolicyConfiguration;
    expect(cfg.AdjustmentType).toBe('ExactCapacity');
    expect(cfg.MetricAggregationType).toBe('Maximum');
    expect(cfg.StepAdjustments).toEqual([
      { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 1, ScalingAdjustment: 0 },
      ...Array.from({ length: 9 }, (_, i) => ({ MetricIntervalLowerBound: i + 1, MetricIntervalUpperBound: i + 2, ScalingAdjustment: i + 1 })),
      { MetricIntervalLowerBound: 10, ScalingAdjustment: 10 },
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkAirflowEcs/Workers',
      MetricName: 'DesiredWorkers',
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'missing',
      AlarmActions: [{ Ref: policyId }],
      Dimensions: Match.arrayWith([{ Name: 'WorkerService', Value: Match.stringLikeRegexp('Workers') }]),
    });
    // known at synth, so the scheduler (which publishes it) never waits for the worker service
    expect(JSON.stringify(tds.scheduler.properties)).not.toContain(workerServiceId);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DesiredWorkers',
      Statistic: 'SampleCount',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  // pitfall #45b: Spot for workers only
  test('workers run on a 25/75 FARGATE/FARGATE_SPOT mix; the control plane never on Spot', () => {
    const services = template.findResources('AWS::ECS::Service');
    for (const [id, s] of Object.entries<any>(services)) {
      if (id === workerServiceId) {
        expect(s.Properties.CapacityProviderStrategy).toEqual([
          { CapacityProvider: 'FARGATE', Base: 0, Weight: 25 },
          { CapacityProvider: 'FARGATE_SPOT', Weight: 75 },
        ]);
        expect(s.Properties.LaunchType).toBeUndefined();
        // no DesiredCount: CloudFormation would reset the worker count to it on every update
        expect(s.Properties.DesiredCount).toBeUndefined();
      } else {
        expect(s.Properties.LaunchType).toBe('FARGATE');
        expect(JSON.stringify(s.Properties)).not.toContain('FARGATE_SPOT');
      }
    }
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']),
    });
  });

  test('warm shutdown: 120 s stop timeout and DUMB_INIT_SETSID=0 on the worker', () => {
    const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect(worker.StopTimeout).toBe(120);
    expect(envOf(worker).DUMB_INIT_SETSID).toBe('0');
  });

  test('the queue-metrics publisher runs in the scheduler task and may only put its own metrics', () => {
    const c = tds.scheduler.containers.find(x => x.Name === 'queue-metrics')! as any;
    // it cannot take the scheduler down: not essential, restarted in place after running a minute
    expect(c.Essential).toBe(false);
    expect(c.RestartPolicy).toEqual({ Enabled: true, RestartAttemptPeriod: 60 });
    expect(c.EntryPoint).toEqual(['python3', '-c']);
    expect(c.Command[1]).toBe('publish');
    expect(upstreamImage(template, c.Image)).toBe('apache/airflow:3.3.2');
    expect(envOf(c)).toEqual(expect.objectContaining({
      CDK_AIRFLOW_SCALING_PERIOD_SECONDS: '30',
      CDK_AIRFLOW_SCALING_NAMESPACE: 'CdkAirflowEcs/Workers',
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD: expect.stringMatching(/^python3 -c /),
    }));
    expect(publishedPools(c)).toEqual([{
      dimensions: { ClusterName: '<token>', WorkerService: 'AirflowWorkersService67AF5AA4' },
      queues: ['default'],
      concurrency: 8,
      minCapacity: 0,
      maxCapacity: 10,
      scaleInCooldownSeconds: 300,
    }]);
    expect(c.Secrets.map((s: any) => s.Name).sort()).toEqual(['CDK_AIRFLOW_DB_PASSWORD', 'CDK_AIRFLOW_DB_USERNAME']);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'cloudwatch:PutMetricData', Effect: 'Allow', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': ['CdkAirflowEcs/Workers', 'CdkAirflowEcs/Airflow'] } } }]) },
      Roles: [{ Ref: tds.scheduler.properties.TaskRoleArn['Fn::GetAtt'][0] }],
    });
  });

  test('each worker protects itself from scale-in while it runs tasks, and drains when its deployment is replaced', () => {
    const c = tds['celery-worker'].containers.find(x => x.Name === 'scale-in-protection')! as any;
    expect(c.Essential).toBe(false);
    expect(c.RestartPolicy).toEqual({ Enabled: true, RestartAttemptPeriod: 60 });
    expect(c.Command[1]).toBe('protect');
    // draining: the worker's queues, and the broker the way Airflow reaches it
    expect(envOf(c)).toEqual(expect.objectContaining({ CDK_AIRFLOW_WORKER_QUEUES: 'default', AIRFLOW__CELERY__BROKER_URL_CMD: expect.any(String) }));
    expect(c.Secrets.map((x: any) => x.Name)).toContain('CDK_AIRFLOW_BROKER_PASSWORD');
    const role = tds['celery-worker'].properties.TaskRoleArn['Fn::GetAtt'][0];
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter(p => p.Properties.Roles.some((r: any) => r.Ref === role)).flatMap(p => p.Properties.PolicyDocument.Statement);
    const grant = (action: string) => statements.filter(x => [x.Action].flat().includes(action)).map(x => JSON.stringify(x.Resource));
    for (const action of ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection', 'ecs:DescribeTasks']) {
      expect(grant(action)).toEqual([expect.stringMatching(/:task\/",\{"Ref":"[A-Za-z0-9]+Cluster[A-Za-z0-9]+"\},"\/\*"\]\]\}$/)]);
    }
    expect(grant('ecs:DescribeServices')).toEqual([expect.stringMatching(/:service\/",\{"Ref":"[A-Za-z0-9]+Cluster[A-Za-z0-9]+"\},"\/\*"\]\]\}$/)]);
  });

  test('tasks queued for up to 30 minutes (a cold start from zero) are neither failed as stuck nor hold an expired token', () => {
    for (const name of COMPONENTS) {
      const env = envOf(tds[name].containers.find(c => c.Name === name)!);
      expect(env.AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT).toBe('1800');
      expect(env.AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME).toBe('1800');
    }
  });

  test('parallelism lets every worker slot fill: maxCapacity x concurrency, in every component', () => {
    for (const name of COMPONENTS) {
      expect(envOf(tds[name].containers.find(c => c.Name === name)!).AIRFLOW__CORE__PARALLELISM).toBe('80');
    }
  });

  // pitfall #5: CDK warnings ignored
  test('no synth warnings with the defaults', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

test('options: bounds, cooldown, queue wait, queues and Spot off', () => {
  const { template } = oneStack({ workers: { minCapacity: 2, maxCapacity: 6, scaleInCooldown: Duration.minutes(15), maxQueueWait: Duration.hours(1), spot: false, onDemandBase: 1, queues: ['default', 'etl'] } });
  const worker = taskDefinitions(template)['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
  expect(worker.Command).toEqual(['celery', 'worker', '--queues', 'default,etl']);
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
  const tds = taskDefinitions(template);
  template.hasResourceProperties('AWS::ECS::Service', { CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Base: 1, Weight: 1 }], DesiredCount: Match.absent() });
  expect(JSON.stringify(template.findResources('AWS::ECS::Service'))).not.toContain('FARGATE_SPOT');
  const pub = tds.scheduler.containers.find(c => c.Name === 'queue-metrics')!;
  expect(publishedPools(pub)).toEqual([expect.objectContaining({ queues: ['default', 'etl'], minCapacity: 2, maxCapacity: 6, scaleInCooldownSeconds: 900 })]);
  expect(envOf(tds['api-server'].containers[0]).AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME).toBe('3600');
});

test('Spot percentages map to capacity-provider weights; 100% is Spot only', () => {
  const { template } = oneStack({ workers: { spotPercent: 100, onDemandBase: 2 } });
  template.hasResourceProperties('AWS::ECS::Service', {
    CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Base: 2, Weight: 0 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 100 }],
  });
});

describe('exactCapacitySteps: the step table', () => {
  test.each([
    [1, [[0, 1, 0], [1, undefined, 1]]],
    [3, [[0, 1, 0], [1, 2, 1], [2, 3, 2], [3, undefined, 3]]],
    [40, null],
    [100, null],
  ] as [number, ([number, number | undefined, number][] | null)][])('max %i', (max, expected) => {
    const steps = exactCapacitySteps(max);
    if (expected) expect(steps.map(s => [s.lower, s.upper, s.capacity])).toEqual(expected);
    expect(steps.length).toBeLessThanOrEqual(21);
    // contiguous from 0, open-ended at the top, never above max, never below the need
    expect(steps[0].lower).toBe(0);
    for (let i = 1; i < steps.length; i++) expect(steps[i].lower).toBe(steps[i - 1].upper);
    expect(steps[steps.length - 1].upper).toBeUndefined();
    for (let need = 0; need <= max + 5; need++) {
      const step = steps.find(s => need >= s.lower && (s.upper === undefined || need < s.upper))!;
      expect(step.capacity).toBeGreaterThanOrEqual(Math.min(need, max));
      expect(step.capacity).toBeLessThanOrEqual(max);
    }
  });
});

describe('database connection capacity', () => {
  test('RDS PostgreSQL max_connections from the instance class', () => {
    expect(postgresMaxConnections('db.t4g.micro')).toBe(101);
    expect(postgresMaxConnections('db.t4g.small')).toBe(202);
    expect(postgresMaxConnections('db.r6g.large')).toBe(1622);
    expect(postgresMaxConnections('db.weird')).toBeUndefined();
  });

  test('warns when workers x concurrency outgrow the database', () => {
    const { stack } = oneStack({ workers: { maxCapacity: 40 } });
    Annotations.fromStack(stack).hasWarning('/Airflow/Airflow', Match.stringLikeRegexp('Airflow may open about 501 database connections with every worker pool at maxCapacity x concurrency \\(workers 40 x 8\\), but db.t4g.small accepts about 199; raise the database instance class'));
  });

  test('a bigger database takes the same fleet without a warning', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const storage = new AirflowStorage(stack, 'Storage', { database: { instanceType: ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE) } });
    new AirflowOnEcs(stack, 'Airflow', { storage, workers: { maxCapacity: 40 } });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('database connections'))).toEqual([]);
  });
});

test('WorkerAutoscaling works alone on a worker service created for it', () => {
  const stack = new Stack(new App(), 'S');
  const storage = new AirflowStorage(stack, 'Storage');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc, enableFargateCapacityProviders: true });
  const workers = new AirflowService(stack, 'Workers', {
    cluster,
    storage,
    component: AirflowComponent.CELERY_WORKER,
    concurrency: 4,
    executionApiServerUrl: 'http://api.internal.example:8080/execution/',
    autoscaled: true,
    capacityProviderStrategies: WorkerAutoscaling.capacityProviderStrategies({ spotPercent: 50 }),
  });
  const scheduler = new AirflowService(stack, 'Scheduler', { cluster, storage, component: AirflowComponent.SCHEDULER });
  new WorkerAutoscaling(stack, 'Scaling', { workers, scheduler, maxCapacity: 5 });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 5 });
  const [workerService] = Object.values<any>(template.findResources('AWS::ECS::Service', { Properties: { CapacityProviderStrategy: Match.anyValue() } }));
  expect(workerService.Properties.CapacityProviderStrategy).toEqual([
    { CapacityProvider: 'FARGATE', Base: 0, Weight: 50 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 50 },
  ]);
  expect(workerService.Properties.DesiredCount).toBeUndefined();
  expect(workerService.Properties.LaunchType).toBeUndefined();
});

test('WorkerAutoscaling refuses services of other components, at synth', () => {
  expect(synthError(stack => {
    const storage = new AirflowStorage(stack, 'Storage');
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc, defaultCloudMapNamespace: { name: 'a.internal' } });
    const scheduler = new AirflowService(stack, 'Scheduler', { cluster, storage, component: AirflowComponent.SCHEDULER });
    new WorkerAutoscaling(stack, 'Wrong', { workers: scheduler, scheduler });
  })).toMatch(/\[S\/Wrong\] workers must be the Celery worker service, got the scheduler service; pass the AirflowService of AirflowComponent\.CELERY_WORKER/);
});

describe('bad scaling input fails at synth with the prop, the value and the fix', () => {
  const cases: [string, AirflowOnEcsProps, RegExp][] = [
    ['min above max', { workers: { minCapacity: 5, maxCapacity: 2 } }, /workers\.minCapacity \(5\) must be <= workers\.maxCapacity \(2\); lower minCapacity or raise maxCapacity/],
    ['negative min', { workers: { minCapacity: -1 } }, /workers\.minCapacity \(-1\) must be a whole number >= 0/],
    ['zero max', { workers: { maxCapacity: 0 } }, /workers\.maxCapacity \(0\) must be a whole number from 1 to 200/],
    ['a scale-in cooldown of seconds', { workers: { scaleInCooldown: Duration.seconds(10) } }, /workers\.scaleInCooldown \(10 s\) must be between 60 seconds and 1 hour/],
    ['a queue wait below Airflow\'s default', { workers: { maxQueueWait: Duration.minutes(5) } }, /workers\.maxQueueWait \(300 s\) must be between 10 minutes/],
    ['Spot percent above 100', { workers: { spotPercent: 120 } }, /workers\.spotPercent \(120\) must be a whole number from 0 to 100/],
    ['Spot percent with Spot off', { workers: { spot: false, spotPercent: 50 } }, /workers\.spotPercent \(50\) has no effect with workers\.spot: false/],
    ['concurrency the default worker memory cannot hold', { workers: { cpu: 512, memoryLimitMiB: 1024 } }, /workers\.concurrency \(8\) is too high for workers\.memoryLimitMiB \(1024\): a worker needs 512 MiB of its own, 256 MiB per running task .* 2816 MiB in all; lower concurrency to 1 or raise memoryLimitMiB to 2816 or more/],
    ['the queue timeout in environment', { environment: { AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT: '60' } },
      /environment\.AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT is set by cdk-airflow-ecs from workers\.maxQueueWait; remove it and set workers\.maxQueueWait instead/],
    ['parallelism in environment', { scheduler: { environment: { AIRFLOW__CORE__PARALLELISM: '32' } } },
      /scheduler\.environment\.AIRFLOW__CORE__PARALLELISM is set by cdk-airflow-ecs from the maxCapacity x concurrency of workers and each of workerPools/],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', props))).toMatch(message);
  });
});

test('the simulation script prints worker-hours for autoscaling and a fixed fleet', () => {
  const r = spawnSync('/usr/bin/python3', [`${__dirname}/../../scripts/simulate_worker_scaling.py`], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const hours = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+) worker-hours`).exec(r.stdout)![1]);
  expect(hours('autoscaled')).toBeGreaterThan(0);
  expect(hours('fixed fleet of 10')).toBe(120);
  expect(hours('autoscaled')).toBeLessThan(hours('fixed fleet of 10'));
  const reaction = Number(/first worker launched (\d+) s after/.exec(r.stdout)![1]);
  expect(reaction).toBeLessThanOrEqual(120);
});
