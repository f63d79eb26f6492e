import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowComponent, AirflowOnEcs, AirflowService, AirflowStorage, DagSource } from '../src';
import { envOf, synthError, taskDefinitions, twoStacks } from './util';

describe('compactControlPlane: the triggerer in the dag-processor task', () => {
  const t = twoStacks({ compactControlPlane: true, dags: DagSource.gitSync({ repository: 'https://github.com/example/dags.git' }) });
  const tds = taskDefinitions(t.servicesTemplate);
  const shared = tds['dag-processor'];
  const container = (name: string) => shared.containers.find(c => c.Name === name) as any;

  test('runs four control-plane services instead of five, with no triggerer task definition of its own', () => {
    t.servicesTemplate.resourceCountIs('AWS::ECS::Service', 4);
    expect(Object.keys(tds).sort()).toEqual(['api-server', 'celery-worker', 'dag-processor', 'db-clean', 'migrate', 'scheduler']);
    expect(t.airflow.triggerer).toBe(t.airflow.dagProcessor);
    expect(t.airflow.services.length).toBe(4);
    expect(t.airflow.dagProcessor.components.map(c => c.name)).toEqual(['dag-processor', 'triggerer']);
  });

  test('sizes the shared task at 0.5 vCPU and 2 GiB by default: 1 GiB for each component', () => {
    expect([shared.properties.Cpu, shared.properties.Memory]).toEqual(['512', '2048']);
  });

  test('runs both as essential containers with their own commands, health checks and log streams', () => {
    const dagProcessor = container('dag-processor');
    const triggerer = container('triggerer');
    expect(dagProcessor.Essential).toBe(true);
    expect(triggerer.Essential).toBe(true);
    expect(dagProcessor.Command).toEqual(['dag-processor']);
    expect(triggerer.Command).toEqual(['triggerer']);
    expect(triggerer.HealthCheck.Command).toEqual(['CMD-SHELL', 'airflow jobs check --job-type TriggererJob --local --limit 1']);
    expect(dagProcessor.HealthCheck.Command.join(' ')).toContain('DagProcessorJob');
    expect(triggerer.PortMappings).toEqual([expect.objectContaining({ ContainerPort: 8794, Name: 'triggerer-logs' })]);
    expect(triggerer.LogConfiguration.Options['awslogs-stream-prefix']).toBe('triggerer');
    expect(triggerer.LogConfiguration.Options['awslogs-group']).toEqual(dagProcessor.LogConfiguration.Options['awslogs-group']);
    expect(triggerer.Image).toEqual(dagProcessor.Image);
  });

  test('the triggerer gets the triggerer\'s settings, the shared ones, the DAGs and StatsD, and starts after the same containers', () => {
    const dagProcessor = container('dag-processor');
    const triggerer = container('triggerer');
    const env = envOf(triggerer);
    expect(env.AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT).toBe('8794');
    expect(env.AIRFLOW__CORE__DAGS_FOLDER).toBe(envOf(dagProcessor).AIRFLOW__CORE__DAGS_FOLDER);
    expect(env.AIRFLOW__METRICS__STATSD_ON).toBe('True');
    expect(env.AIRFLOW__CORE__EXECUTOR).toBe(envOf(dagProcessor).AIRFLOW__CORE__EXECUTOR);
    // each container gets its own component's settings, not the other's
    expect(envOf(dagProcessor).AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT).toBeUndefined();
    expect((triggerer.Secrets ?? []).map((s: any) => s.Name).sort()).toEqual((dagProcessor.Secrets ?? []).map((s: any) => s.Name).sort());
    expect(triggerer.MountPoints).toEqual(dagProcessor.MountPoints);
    expect(triggerer.MountPoints.length).toBeGreaterThan(0);
    expect(triggerer.DependsOn).toEqual(dagProcessor.DependsOn);
    expect(triggerer.DependsOn).toEqual(expect.arrayContaining([{ ContainerName: 'wait-for-migrations', Condition: 'SUCCESS' }]));
    // one git-sync and one airflow-metrics sidecar serve both
    expect(shared.containers.filter(c => c.Name === 'airflow-metrics').length).toBe(1);
    expect(shared.containers.filter(c => c.Name === 'git-sync').length).toBe(1);
  });

  test('the api-server may read live trigger logs from the shared task', () => {
    const sg = t.airflow.dagProcessor.securityGroup.node.defaultChild as any;
    t.servicesTemplate.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8794,
      ToPort: 8794,
      GroupId: { 'Fn::GetAtt': [Stack.of(sg).getLogicalId(sg), 'GroupId'] },
      Description: 'api-server reads live trigger logs',
    });
  });

  test('the dashboard names the shared service after both components', () => {
    const dashboards = t.servicesTemplate.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values<any>(dashboards)[0].Properties.DashboardBody);
    expect(body).toContain('dag-processor + triggerer');
  });

  test('keeps the separate layout by default', () => {
    const d = twoStacks();
    d.servicesTemplate.resourceCountIs('AWS::ECS::Service', 5);
    expect(d.airflow.triggerer).not.toBe(d.airflow.dagProcessor);
    d.servicesTemplate.allResourcesProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.not(Match.arrayWith([Match.objectLike({ Name: 'triggerer', Command: ['dag-processor'] })])),
    });
  });

  test('dagProcessor sizes the shared task', () => {
    const sized = twoStacks({ compactControlPlane: true, dagProcessor: { cpu: 1024, memoryLimitMiB: 3072 } });
    const td = taskDefinitions(sized.servicesTemplate)['dag-processor'];
    expect([td.properties.Cpu, td.properties.Memory]).toEqual(['1024', '3072']);
  });

  test('AirflowService alone: withTriggerer sizes the dag-processor task for both', () => {
    const stack = new Stack();
    const storage = new AirflowStorage(stack, 'Storage');
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc });
    const service = new AirflowService(stack, 'DagProcessor', { cluster, storage, component: AirflowComponent.DAG_PROCESSOR, withTriggerer: true });
    expect([service.taskDefinition.cpu, service.taskDefinition.memoryMiB]).toEqual([512, 2048]);
    expect(service.airflowContainers.map(c => c.containerName)).toEqual(['dag-processor', 'triggerer']);
    expect(service.triggererContainer?.essential).toBe(true);
  });

  describe('refuses at synth', () => {
    test('triggerer options, which have nothing to configure', () => {
      const message = synthError(stack => new AirflowOnEcs(stack, 'Airflow', {
        storage: new AirflowStorage(stack, 'Storage'), compactControlPlane: true, triggerer: { memoryLimitMiB: 2048 },
      }));
      expect(message).toContain('triggerer (["memoryLimitMiB"]) is set with compactControlPlane');
      expect(message).toContain('size the shared task with dagProcessor');
    });

    test('less than 1 GiB for each of the two components', () => {
      const message = synthError(stack => new AirflowOnEcs(stack, 'Airflow', {
        storage: new AirflowStorage(stack, 'Storage'), compactControlPlane: true, dagProcessor: { memoryLimitMiB: 1024 },
      }));
      expect(message).toContain('dagProcessor.memoryLimitMiB (1024) is too small for the dag-processor and the triggerer (withTriggerer), 1024 MiB each');
      expect(message).toContain('use 2048 or more');
    });

    test('withTriggerer on a service other than the dag-processor', () => {
      const message = synthError(stack => {
        const storage = new AirflowStorage(stack, 'Storage');
        const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc });
        new AirflowService(stack, 'Scheduler', { cluster, storage, component: AirflowComponent.SCHEDULER, withTriggerer: true, memoryLimitMiB: 2048 });
      });
      expect(message).toContain('withTriggerer is set on the scheduler service; only the dag-processor\'s task can run the triggerer');
    });
  });
});
