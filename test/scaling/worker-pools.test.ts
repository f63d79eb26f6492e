/**
 * Worker pools: several Celery worker services, each consuming its own queues with its own size,
 * Spot mix and queue-driven scaling, every one wired like the default pool.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { createApp as workerPoolsApp } from '../../examples/worker-pools/app';
import { AirflowComponent, AirflowOnEcs, AirflowOnEcsProps, AirflowService, AirflowStorage, DagSource, GitCredentials, WorkerAutoscaling } from '../../src';
import { ContainerDef, envOf, oneStack, publishedPools, synthError } from '../util';

interface WorkerService { id: string; service: any; taskDefinitionId: string; containers: ContainerDef[]; securityGroup: any }

/** Every Celery worker service of a template, with its task definition and security group. */
function workerServices(template: Template): WorkerService[] {
  const resources = template.toJSON().Resources;
  return Object.entries<any>(resources)
    .filter(([, r]) => r.Type === 'AWS::ECS::Service')
    .map(([id, service]) => {
      const taskDefinitionId = service.Properties.TaskDefinition.Ref;
      const containers: ContainerDef[] = resources[taskDefinitionId].Properties.ContainerDefinitions;
      const securityGroup = service.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0]['Fn::GetAtt'][0];
      return { id, service, taskDefinitionId, containers, securityGroup };
    })
    .filter(w => w.containers.some(c => c.Name === 'celery-worker' && c.Essential !== false));
}

const queuesOf = (w: WorkerService) => {
  const command = w.containers.find(c => c.Name === 'celery-worker')!.Command!;
  return command.includes('--queues') ? command[command.indexOf('--queues') + 1] : 'default';
};

describe('examples/worker-pools', () => {
  const app = workerPoolsApp(new App());
  const services = app.node.findChild('AirflowPoolsServices') as Stack;
  const template = Template.fromStack(services);
  const resources = template.toJSON().Resources;
  const workers = workerServices(template);
  const [light, heavy] = workers.sort((a, b) => a.id.localeCompare(b.id)).reverse();
  const airflow = services.node.findChild('Airflow') as AirflowOnEcs;

  test('two worker services with disjoint queues', () => {
    expect(workers).toHaveLength(2);
    expect(light.id).toMatch(/^AirflowWorkersService/);
    expect(heavy.id).toMatch(/^AirflowWorkerPoolHeavyService/);
    expect(queuesOf(light)).toBe('default');
    expect(queuesOf(heavy)).toBe('heavy');
    expect(airflow.workerPools.map(p => [p.name, p.queues])).toEqual([['default', ['default']], ['heavy', ['heavy']]]);
  });

  test('the heavy pool: 4 vCPU / 16 GiB, 2 tasks at a time, 0–3 workers, on-demand only', () => {
    const td = resources[heavy.taskDefinitionId].Properties;
    expect([td.Cpu, td.Memory]).toEqual(['4096', '16384']);
    expect(envOf(heavy.containers.find(c => c.Name === 'celery-worker')!).AIRFLOW__CELERY__WORKER_CONCURRENCY).toBe('2');
    expect(heavy.service.Properties.CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE', Base: 0, Weight: 1 }]);
    expect(light.service.Properties.CapacityProviderStrategy).toEqual([
      { CapacityProvider: 'FARGATE', Base: 0, Weight: 25 },
      { CapacityProvider: 'FARGATE_SPOT', Weight: 75 },
    ]);
    for (const w of workers) expect(w.service.Properties.DesiredCount).toBeUndefined();
  });

  test('each pool is scaled by its own DesiredWorkers, published by the one queue-metrics sidecar', () => {
    const schedulerTd = Object.values<any>(resources).find(r => r.Type === 'AWS::ECS::TaskDefinition'
      && r.Properties.ContainerDefinitions.some((c: any) => c.Name === 'scheduler'));
    const publishers = schedulerTd.Properties.ContainerDefinitions.filter((c: any) => c.Name === 'queue-metrics');
    expect(publishers).toHaveLength(1);
    const pools = publishedPools(publishers[0]);
    expect(pools).toEqual([
      { dimensions: { ClusterName: '<token>', WorkerService: expect.stringMatching(/AirflowWorkersService/) }, queues: ['default'], concurrency: 8, minCapacity: 0, maxCapacity: 10, scaleInCooldownSeconds: 300 },
      { dimensions: { ClusterName: '<token>', WorkerService: expect.stringMatching(/AirflowWorkerPoolHeavyService/) }, queues: ['heavy'], concurrency: 2, minCapacity: 0, maxCapacity: 3, scaleInCooldownSeconds: 300 },
    ]);
    for (const [w, max, dimension] of [[light, 10, pools[0].dimensions.WorkerService], [heavy, 3, pools[1].dimensions.WorkerService]] as const) {
      const [targetId] = Object.entries<any>(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'))
        .find(([, t]) => JSON.stringify(t.Properties.ResourceId).includes(`"${w.id}"`))!;
      expect(template.toJSON().Resources[targetId].Properties).toEqual(expect.objectContaining({ MinCapacity: 0, MaxCapacity: max }));
      const [policyId] = Object.entries<any>(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))
        .find(([, p]) => p.Properties.ScalingTargetId?.Ref === targetId)!;
      // the alarm that applies the policy reads this pool's DesiredWorkers
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'DesiredWorkers',
        Statistic: 'Maximum',
        AlarmActions: [{ Ref: policyId }],
        Dimensions: Match.arrayWith([{ Name: 'WorkerService', Value: dimension }]),
      });
      // and every pool has its metrics-missing alarm
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'DesiredWorkers',
        Statistic: 'SampleCount',
        TreatMissingData: 'breaching',
        Dimensions: Match.arrayWith([{ Name: 'WorkerService', Value: dimension }]),
      });
    }
  });

  test('each pool: Execution API and log rules, the migration first, scale-in protection, remote logs, the shared settings', () => {
    const ingress = Object.values<any>(template.findResources('AWS::EC2::SecurityGroupIngress')).map(r => r.Properties);
    const migration = Object.keys(template.findResources('Custom::AirflowDatabaseMigration'))[0];
    const apiEnv = (w: WorkerService) => envOf(w.containers.find(c => c.Name === 'celery-worker')!);
    for (const w of workers) {
      // the worker reaches the api-server's Execution API on 8080, the api-server the worker's log server on 8793
      expect(ingress).toContainEqual(expect.objectContaining({ FromPort: 8080, SourceSecurityGroupId: { 'Fn::GetAtt': [w.securityGroup, 'GroupId'] } }));
      expect(ingress).toContainEqual(expect.objectContaining({ FromPort: 8793, GroupId: { 'Fn::GetAtt': [w.securityGroup, 'GroupId'] } }));
      // the database and the broker
      expect(ingress).toContainEqual(expect.objectContaining({ FromPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [w.securityGroup, 'GroupId'] } }));
      expect(ingress).toContainEqual(expect.objectContaining({ FromPort: 6379, SourceSecurityGroupId: { 'Fn::GetAtt': [w.securityGroup, 'GroupId'] } }));
      expect(w.service.DependsOn).toContain(migration);
      expect(w.containers.map(c => c.Name)).toEqual(expect.arrayContaining(['wait-for-migrations', 'celery-worker', 'scale-in-protection']));
      const env = apiEnv(w);
      expect(env.AIRFLOW__LOGGING__REMOTE_LOGGING).toBe('True');
      expect(env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL).toBe('http://airflow-api-server:8080/execution/');
      expect(env.AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT).toBe('1800');
      expect(env.AIRFLOW__API__BASE_URL).toEqual(envOf(light.containers.find(c => c.Name === 'celery-worker')!).AIRFLOW__API__BASE_URL);
      // 10 x 8 + 3 x 2: every worker slot of every pool can be filled
      expect(env.AIRFLOW__CORE__PARALLELISM).toBe('86');
    }
    // the heavy pool's role writes task logs and protects its tasks from scale-in
    const heavyRole = resources[heavy.taskDefinitionId].Properties.TaskRoleArn['Fn::GetAtt'][0];
    const heavyPolicies = Object.values<any>(template.findResources('AWS::IAM::Policy')).filter(p => p.Properties.Roles.some((r: any) => r.Ref === heavyRole));
    const actions = JSON.stringify(heavyPolicies.map(p => p.Properties.PolicyDocument.Statement));
    expect(actions).toContain('s3:PutObject');
    expect(actions).toContain('ecs:UpdateTaskProtection');
  });

  test('taskConnections and the migration dependency cover every pool', () => {
    expect(airflow.taskConnections.securityGroups).toContain(airflow.workerPools[1].service.securityGroup);
    expect(airflow.services).toContain(airflow.workerPools[1].service);
  });
});

test('the default pool keeps its ids when pools are added', () => {
  const ids = (props: AirflowOnEcsProps) => Object.keys(oneStack(props).template.toJSON().Resources);
  const before = ids({});
  const after = ids({ workerPools: { heavy: { queues: ['heavy'] } } });
  expect(after).toEqual(expect.arrayContaining(before));
});

test('with DAGs from git, every pool syncs them', () => {
  const { template } = oneStack({
    dags: DagSource.gitSync({ repository: 'https://github.com/acme/dags.git', credentials: GitCredentials.httpsToken({ secret: secretsmanager.Secret.fromSecretNameV2(new Stack(), 'T', 'tok') }) }),
    workerPools: { heavy: { queues: ['heavy'] } },
  });
  for (const w of workerServices(template)) expect(w.containers.map(c => c.Name)).toContain('git-sync');
});

test('the database-connections warning counts every pool', () => {
  const { stack } = oneStack({ workers: { maxCapacity: 10 }, workerPools: { heavy: { queues: ['heavy'], maxCapacity: 20 } } });
  Annotations.fromStack(stack).hasWarning('/Airflow/Airflow', Match.stringLikeRegexp('about 391 database connections .*\\(workers 10 x 8, workerPools.heavy 20 x 8\\)'));
});

test('a second WorkerAutoscaling on the same scheduler joins its queue-metrics sidecar', () => {
  const app = new App();
  const stack = new Stack(app, 'S');
  const airflow = new AirflowOnEcs(stack, 'Airflow');
  const reports = new AirflowService(stack, 'Reports', {
    cluster: airflow.cluster, storage: airflow.storage, component: AirflowComponent.CELERY_WORKER, queues: ['reports'], autoscaled: true,
  });
  new WorkerAutoscaling(stack, 'ReportsScaling', { workers: reports, scheduler: airflow.scheduler, maxCapacity: 2 });
  const template = Template.fromStack(stack);
  const scheduler = Object.values<any>(template.findResources('AWS::ECS::TaskDefinition'))
    .find(r => r.Properties.ContainerDefinitions.some((c: any) => c.Name === 'scheduler'))!;
  const publishers = scheduler.Properties.ContainerDefinitions.filter((c: any) => c.Name === 'queue-metrics');
  expect(publishers).toHaveLength(1);
  expect(publishedPools(publishers[0]).map(p => p.queues)).toEqual([['default'], ['reports']]);
});

describe('bad pools fail at synth, every problem in one error naming the pool, the value and the fix', () => {
  test.each<[string, AirflowOnEcsProps, RegExp]>([
    ['a queue two pools consume', { workerPools: { heavy: { queues: ['heavy', 'default'] } } },
      /workerPools\.heavy\.queues: queue 'default' is consumed by workers \(S\/Airflow\/Workers\) too; a queue belongs to one worker pool/],
    ['a pool with no queue', { workerPools: { heavy: {} } },
      /workerPools\.heavy\.queues names no queue, so the pool would take no task; list the queues its tasks name, for example \['heavy'\]/],
    ['an invalid queue name', { workerPools: { heavy: { queues: ['big jobs'] } } }, /workerPools\.heavy\.queues entry 'big jobs' is not a Celery queue name/],
    ['min above max', { workerPools: { heavy: { queues: ['heavy'], minCapacity: 4, maxCapacity: 3 } } },
      /workerPools\.heavy\.minCapacity \(4\) must be <= workerPools\.heavy\.maxCapacity \(3\)/],
    ['concurrency that does not fit memory', { workerPools: { heavy: { queues: ['heavy'], memoryLimitMiB: 2048, concurrency: 16 } } },
      /workerPools\.heavy\.concurrency \(16\) is too high for workerPools\.heavy\.memoryLimitMiB \(2048\)/],
    ['the name of the workers pool', { workerPools: { default: { queues: ['heavy'] } } },
      /workerPools\.default: 'default' is the name of the workers pool; set its options in workers, or give this pool another name/],
    ['a name that is not a pool name', { workerPools: { Heavy_Jobs: { queues: ['heavy'] } } },
      /workerPools: the pool name 'Heavy_Jobs' must be lower-case letters, digits and single hyphens/],
    ['a Spot percentage without Spot', { workerPools: { heavy: { queues: ['heavy'], spot: false, spotPercent: 50 } } },
      /workerPools\.heavy\.spotPercent \(50\) has no effect with workerPools\.heavy\.spot: false/],
  ])('%s', (_name, props, message) => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', props))).toMatch(message);
  });

  test('several mistakes, one error', () => {
    const error = synthError(stack => new AirflowOnEcs(stack, 'Airflow', {
      workerPools: { 'heavy': { queues: ['default'], minCapacity: 5, maxCapacity: 2 }, 'gpu': {}, 'Bad Name': { queues: ['x'] } },
    }));
    const lines = error.split('\n').filter(l => l.startsWith('  ['));
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/\[S\/Airflow\/WorkerPoolHeavyAutoscaling\] workerPools\.heavy\.queues: queue 'default' is consumed by workers \(S\/Airflow\/Workers\) too/),
      expect.stringMatching(/\[S\/Airflow\/WorkerPoolHeavyAutoscaling\] workerPools\.heavy\.minCapacity \(5\) must be <= workerPools\.heavy\.maxCapacity \(2\)/),
      expect.stringMatching(/\[S\/Airflow\/WorkerPoolGpu\] workerPools\.gpu\.queues names no queue/),
      expect.stringMatching(/\[S\/Airflow\] workerPools: the pool name 'Bad Name'/),
    ]));
    expect(lines).toHaveLength(4);
  });

  test('a standalone pool gets a synth error too when it shares a queue', () => {
    expect(synthError(stack => {
      const airflow = new AirflowOnEcs(stack, 'Airflow');
      const more = new AirflowService(stack, 'More', { cluster: airflow.cluster, storage: airflow.storage, component: AirflowComponent.CELERY_WORKER, autoscaled: true });
      new WorkerAutoscaling(stack, 'MoreScaling', { workers: more, scheduler: airflow.scheduler });
    })).toMatch(/\[S\/MoreScaling\] workers\.queues: queue 'default' is consumed by workers \(S\/Airflow\/Workers\) too/);
  });
});

test('a storage stack is the same with or without pools', () => {
  const storageTemplate = (workerPools: AirflowOnEcsProps['workerPools']) => {
    const app = new App();
    const storageStack = new Stack(app, 'Storage');
    const storage = new AirflowStorage(storageStack, 'Storage');
    new AirflowOnEcs(new Stack(app, 'Services'), 'Airflow', { storage, workerPools });
    return Template.fromStack(storageStack).toJSON();
  };
  expect(storageTemplate({ heavy: { queues: ['heavy'] } })).toEqual(storageTemplate(undefined));
});
