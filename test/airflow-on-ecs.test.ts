import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowOnEcs, AirflowImage, AirflowVersion, WebAccess } from '../src';
import { COMPONENTS, envOf, oneStack, secretNamesOf, taskDefinitions, twoStacks, upstreamImage } from './util';
import { WAIT_FOR_MIGRATIONS_SCRIPT } from '../src/service/commands';

describe('AirflowOnEcs', () => {
  describe('with default settings, split across a storage stack and a services stack', () => {
    const t = twoStacks();

    test('runs the five components as five Fargate services, each with its own task definition', () => {
      t.servicesTemplate.resourceCountIs('AWS::ECS::Service', 5);
      const tds = taskDefinitions(t.servicesTemplate);
      // and two one-off tasks: the migration and the scheduled db clean
      expect(Object.keys(tds).sort()).toEqual([...COMPONENTS, 'migrate', 'db-clean'].sort());
      const services = Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'));
      const tdRefs = services.map(s => s.Properties.TaskDefinition.Ref);
      expect(new Set(tdRefs).size).toBe(5);
      // the control plane on on-demand Fargate; workers on a capacity-provider mix (see scaling tests)
      const workerTd = taskDefinitions(t.servicesTemplate)['celery-worker'].logicalId;
      for (const s of services) {
        if (s.Properties.TaskDefinition.Ref === workerTd) {
          expect(s.Properties.LaunchType).toBeUndefined();
          expect(s.Properties.CapacityProviderStrategy).toBeDefined();
        } else {
          expect(s.Properties.LaunchType).toBe('FARGATE');
          expect(s.Properties.CapacityProviderStrategy).toBeUndefined();
        }
      }
    });

    test('gives every component its own task role, execution role and log group with retention', () => {
      const tds = Object.values(taskDefinitions(t.servicesTemplate));
      const taskRoles = new Set(tds.map(td => JSON.stringify(td.properties.TaskRoleArn)));
      const executionRoles = new Set(tds.map(td => JSON.stringify(td.properties.ExecutionRoleArn)));
      expect(taskRoles.size).toBe(tds.length);
      expect(executionRoles.size).toBe(tds.length);
      const logGroups = new Set(tds.flatMap(td => td.containers.map(c => JSON.stringify((c as any).LogConfiguration.Options['awslogs-group']))));
      expect(logGroups.size).toBe(tds.length);
      t.servicesTemplate.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
    });

    // pitfall #14: Platform tagging of one's own images
    test('runs every component on ARM64 with the pinned official image', () => {
      for (const td of Object.values(taskDefinitions(t.servicesTemplate))) {
        expect(td.properties.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
        for (const c of td.containers) expect(upstreamImage(t.servicesTemplate, (c as any).Image)).toBe('apache/airflow:3.3.2');
      }
    });

    // pitfall #42b: Tasks too small, or invalid Fargate sizes
    test('uses the documented default sizes: 1 GiB for the control plane, 3 GiB workers', () => {
      const tds = taskDefinitions(t.servicesTemplate);
      const size = (name: string) => [tds[name].properties.Cpu, tds[name].properties.Memory];
      expect(size('api-server')).toEqual(['512', '1024']);
      expect(size('scheduler')).toEqual(['512', '1024']);
      expect(size('dag-processor')).toEqual(['512', '1024']);
      expect(size('triggerer')).toEqual(['256', '1024']);
      expect(size('celery-worker')).toEqual(['1024', '3072']);
    });

    // pitfall #12: No deployment circuit breaker
    test('turns on the deployment circuit breaker with rollback on every service', () => {
      t.servicesTemplate.allResourcesProperties('AWS::ECS::Service', {
        DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      });
    });

    test('gives the load-balanced api-server a health-check grace period between 300 and 600 s, and no other service one', () => {
      const services = Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'));
      const withLb = services.filter(s => s.Properties.LoadBalancers);
      expect(withLb).toHaveLength(1);
      expect(withLb[0].Properties.LoadBalancers[0].ContainerName).toBe('api-server');
      expect(withLb[0].Properties.HealthCheckGracePeriodSeconds).toBeGreaterThanOrEqual(300);
      expect(withLb[0].Properties.HealthCheckGracePeriodSeconds).toBeLessThanOrEqual(600);
      for (const s of services.filter(x => !x.Properties.LoadBalancers)) {
        expect(s.Properties.HealthCheckGracePeriodSeconds).toBeUndefined();
      }
    });

    // pitfall #15: Health checks killed slow starts
    test('gives every component a container health check with a start period fit for the slow Airflow CLI', () => {
      const tds = taskDefinitions(t.servicesTemplate);
      const expected: Record<string, RegExp> = {
        'api-server': /curl .*http:\/\/localhost:8080\/api\/v2\/version/,
        'scheduler': /curl .*http:\/\/localhost:8974\/health/,
        'dag-processor': /^airflow jobs check --job-type DagProcessorJob --local/,
        'triggerer': /^airflow jobs check --job-type TriggererJob --local/,
        'celery-worker': /^celery --app airflow\.providers\.celery\.executors\.celery_executor\.app inspect ping -d "celery@\$\(hostname\)"/,
      };
      for (const name of COMPONENTS) {
        const main = tds[name].containers.find(c => c.Name === name)!;
        expect(main.HealthCheck!.Command[0]).toBe('CMD-SHELL');
        expect(main.HealthCheck!.Command[1]).toMatch(expected[name]);
        expect(main.HealthCheck!.StartPeriod).toBeGreaterThanOrEqual(180);
        expect(main.HealthCheck!.StartPeriod).toBeLessThanOrEqual(300);
        expect(main.HealthCheck!.Timeout).toBeLessThan(main.HealthCheck!.Interval);
      }
      expect(envOf(tds.scheduler.containers.find(c => c.Name === 'scheduler')!).AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK).toBe('True');
    });

    // pitfall #38: Custom entrypoints and complex images
    test('runs each component with its Airflow command', () => {
      const tds = taskDefinitions(t.servicesTemplate);
      const cmd = (name: string) => tds[name].containers.find(c => c.Name === name)!.Command;
      expect(cmd('api-server')).toEqual(['api-server', '--port', '8080', '--proxy-headers']);
      expect(cmd('scheduler')).toEqual(['scheduler']);
      expect(cmd('dag-processor')).toEqual(['dag-processor']);
      expect(cmd('triggerer')).toEqual(['triggerer']);
      expect(cmd('celery-worker')).toEqual(['celery', 'worker']);
    });

    // pitfall #47: JWT secret not shared
    test('injects the shared settings into every Airflow container as ECS secrets, identical everywhere', () => {
      const shared = ['AIRFLOW__API_AUTH__JWT_SECRET', 'AIRFLOW__API__SECRET_KEY', 'CDK_AIRFLOW_DB_USERNAME', 'CDK_AIRFLOW_DB_PASSWORD', 'CDK_AIRFLOW_BROKER_PASSWORD', 'CDK_AIRFLOW_FERNET_KEY'];
      const seen = new Map<string, string>();
      const airflowContainers = [...COMPONENTS, 'wait-for-migrations', 'migrate'];
      for (const td of Object.values(taskDefinitions(t.servicesTemplate))) {
        for (const c of td.containers.filter(x => airflowContainers.includes(x.Name))) {
          expect(secretNamesOf(c)).toEqual(expect.arrayContaining(shared));
          for (const s of c.Secrets!) {
            if (!shared.includes(s.Name)) continue;
            const v = JSON.stringify(s.ValueFrom);
            if (seen.has(s.Name)) expect(v).toBe(seen.get(s.Name));
            seen.set(s.Name, v);
          }
          const env = envOf(c);
          for (const name of ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD', 'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC_CMD', 'AIRFLOW__CELERY__BROKER_URL_CMD', 'AIRFLOW__CELERY__RESULT_BACKEND_CMD', 'AIRFLOW__CORE__FERNET_KEY_CMD']) {
            expect(env[name]).toEqual(expect.stringMatching(/^python3 -c "/));
          }
          expect(env.AIRFLOW__CORE__AUTH_MANAGER).toBe('airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager');
          expect(env.AIRFLOW__CORE__EXECUTOR).toBe('CeleryExecutor');
        }
      }
      // DB username and password are fields of the database secret (rendered as ARN:field::).
      const worker = taskDefinitions(t.servicesTemplate)['celery-worker'].containers[0];
      const pw = worker.Secrets!.find(s => s.Name === 'CDK_AIRFLOW_DB_PASSWORD')!;
      expect(JSON.stringify(pw.ValueFrom)).toContain(':password::');
    });

    test('only the migration task gets the admin password', () => {
      for (const [name, td] of Object.entries(taskDefinitions(t.servicesTemplate))) {
        const has = td.containers.some(c => secretNamesOf(c).includes('CDK_AIRFLOW_ADMIN_PASSWORD'));
        expect(has).toBe(name === 'migrate');
      }
    });

    test('keeps task logs in S3 through a connection every Airflow container defines', () => {
      // Airflow 3.1's task runner fails every task when the remote log connection does not exist
      // (the local ECS runtime's DAG-run scenario on 3.1.8 showed it)
      for (const [name, td] of Object.entries(taskDefinitions(t.servicesTemplate))) {
        const main = td.containers.find(c => c.Name === name)!;
        const env = envOf(main);
        expect(env.AIRFLOW__LOGGING__REMOTE_LOGGING).toBe('True');
        expect(JSON.stringify(env.AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER)).toMatch(/s3:\/\/.*\/logs/);
        const connId = env.AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID as string;
        expect(connId).not.toBe('aws_default'); // users' own aws_default is neither shadowed nor required
        expect(env[`AIRFLOW_CONN_${connId.toUpperCase()}`]).toBe('aws://');
      }
    });

    // pitfall #46: Worker can't reach the base URL (Execution API)
    test('points the workers at the api-server Execution API through Service Connect', () => {
      const worker = taskDefinitions(t.servicesTemplate)['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
      expect(envOf(worker).AIRFLOW__CORE__EXECUTION_API_SERVER_URL).toBe('http://airflow-api-server:8080/execution/');
      t.servicesTemplate.hasResourceProperties('AWS::ECS::Service', {
        LoadBalancers: Match.anyValue(),
        ServiceConnectConfiguration: {
          Enabled: true,
          Namespace: 'airflow.internal',
          Services: [{ PortName: 'api', ClientAliases: [{ DnsName: 'airflow-api-server', Port: 8080 }] }],
        },
      });
      // every service is a Service Connect client in the same namespace
      t.servicesTemplate.allResourcesProperties('AWS::ECS::Service', {
        ServiceConnectConfiguration: Match.objectLike({ Enabled: true, Namespace: 'airflow.internal' }),
      });
      t.servicesTemplate.hasResourceProperties('AWS::ServiceDiscovery::HttpNamespace', { Name: 'airflow.internal' });
    });

    // pitfall #29: Migrations raced the services
    test('runs migrations once per deployment in a one-off task, before any service is updated', () => {
      const migrate = taskDefinitions(t.servicesTemplate).migrate;
      expect(migrate.containers).toHaveLength(1);
      expect(migrate.containers[0].Command!.slice(0, 2)).toEqual(['bash', '-c']);
      expect(migrate.containers[0].Command![2]).toContain('airflow db migrate');
      expect(migrate.containers[0].Command![2]).toContain('airflow users create');

      const runs = t.servicesTemplate.findResources('Custom::AirflowDatabaseMigration');
      const [runId, run] = Object.entries<any>(runs)[0];
      expect(Object.keys(runs)).toHaveLength(1);
      expect(run.Properties.TaskDefinitionArn).toEqual({ Ref: migrate.logicalId });
      for (const s of Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'))) {
        expect(s.DependsOn).toContain(runId);
      }
      // Spot workers are created only once the cluster has its capacity providers
      const [associationId] = Object.keys(t.servicesTemplate.findResources('AWS::ECS::ClusterCapacityProviderAssociations'));
      const workers = Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service')).filter(s => s.Properties.CapacityProviderStrategy);
      expect(workers).toHaveLength(1);
      expect(workers[0].DependsOn).toContain(associationId);
      // it runs only once the task can reach the database and read its secrets
      const resources = t.servicesTemplate.toJSON().Resources;
      const before = (run.DependsOn as string[]).map(id => resources[id]);
      expect(before).toEqual(expect.arrayContaining([
        expect.objectContaining({ Type: 'AWS::EC2::SecurityGroupIngress', Properties: expect.objectContaining({ FromPort: 5432 }) }),
        expect.objectContaining({ Type: 'AWS::IAM::Policy', Properties: expect.objectContaining({ PolicyDocument: expect.objectContaining({ Statement: expect.arrayContaining([expect.objectContaining({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] })]) }) }) }),
      ]));
      t.servicesTemplate.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'cloudformation:DescribeStacks' })]) },
      });
      t.servicesTemplate.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.onEvent', Runtime: 'nodejs24.x' });
      t.servicesTemplate.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.isComplete', Runtime: 'nodejs24.x' });
    });

    test('makes every component wait for the database and the migrations (airflow db check-migrations) before starting', () => {
      for (const name of COMPONENTS) {
        const td = taskDefinitions(t.servicesTemplate)[name];
        const wait = td.containers.find(c => c.Name === 'wait-for-migrations')!;
        expect(wait.Essential).toBe(false);
        // run for real in test/runtime/wait-for-migrations.test.ts
        expect(wait.Command).toEqual(['bash', '-c', WAIT_FOR_MIGRATIONS_SCRIPT]);
        expect(WAIT_FOR_MIGRATIONS_SCRIPT).toMatch(/exec airflow db check-migrations --migration-wait-timeout 600$/);
        const main = td.containers.find(c => c.Name === name)!;
        expect(main.DependsOn).toEqual([{ ContainerName: 'wait-for-migrations', Condition: 'SUCCESS' }]);
      }
    });

    // pitfall #2b: Slow deployments (300 s deregistration delay)
    test('puts an internal load balancer on plain HTTP in front of the api-server only, open to the VPC', () => {
      t.servicesTemplate.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
      t.servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internal',
        LoadBalancerAttributes: Match.arrayWith([{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }]),
      });
      t.servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
      t.servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: 8080,
        HealthCheckPath: '/api/v2/version',
        TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
      });
      const lbSg = Object.values<any>(t.servicesTemplate.findResources('AWS::EC2::SecurityGroup'))
        .find(sg => /load balancer/.test(sg.Properties.GroupDescription))!;
      expect(lbSg.Properties.SecurityGroupIngress).toEqual([
        expect.objectContaining({ FromPort: 80, ToPort: 80, IpProtocol: 'tcp', CidrIp: { 'Fn::ImportValue': expect.stringContaining('CidrBlock') } }),
      ]);
      expect(Annotations.fromStack(t.servicesStack).findWarning('*', Match.stringLikeRegexp('publicHttpInsecure'))).toHaveLength(0);
    });

    test('sets [api] base_url to the load balancer URL and trusts forwarded headers on the api-server', () => {
      const api = taskDefinitions(t.servicesTemplate)['api-server'].containers.find(c => c.Name === 'api-server')!;
      const env = envOf(api);
      expect(env.AIRFLOW__API__BASE_URL).toEqual({ 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/LoadBalancer/), 'DNSName'] }]] });
      expect(env.FORWARDED_ALLOW_IPS).toBe('*');
      expect(env.AIRFLOW__FAB__ENABLE_PROXY_FIX).toBe('True');
    });

    // pitfall #24b: Storage and services in one stack
    test('keeps the storage stack free of references to the services stack, so services can be destroyed alone', () => {
      const storageJson = JSON.stringify(t.storageTemplate.toJSON());
      expect(storageJson).not.toContain('Fn::ImportValue');
      // the rules that let tasks into the database and broker live in the services stack
      t.storageTemplate.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      const ingress = Object.values<any>(t.servicesTemplate.findResources('AWS::EC2::SecurityGroupIngress'));
      // five components, the migration and the db clean
      expect(ingress.filter(r => r.Properties.FromPort === 5432).length).toBe(7);
      expect(ingress.filter(r => r.Properties.FromPort === 6379).length).toBe(2);
    });

    test('pitfall #24: nothing a database or broker replacement changes leaves the storage stack as an export', () => {
      const imports = JSON.stringify(t.servicesTemplate.toJSON()).match(/"Fn::ImportValue":"[^"]+"/g) ?? [];
      expect(imports.length).toBeGreaterThan(0);
      // what stays an export never changes when the database or the broker is replaced
      for (const i of imports) expect(i).toMatch(/Vpc|SecurityGroup|LogBucket|Secret|FernetKey|AdminPassword|BrokerAuthToken|ApiSecretKey/);
      for (const i of imports) expect(i).not.toMatch(/StorageDatabase[0-9A-F]{8}|StorageBroker[0-9A-F]{8}|EndpointAddress|EndPointAddress|EndpointPort/);
      // the storage stack writes them to SSM parameters; the services stack reads them at each deployment
      const names = Object.values<any>(t.storageTemplate.findResources('AWS::SSM::Parameter')).map(p => p.Properties.Name).sort();
      expect(names.map(n => n.replace(/^\/cdk-airflow-ecs\/Storage\/Storage[0-9A-F]{8}\//, ''))).toEqual(
        ['broker-endpoint-address', 'broker-replication-group-id', 'database-endpoint-address', 'database-instance-identifier']);
      const parameters = Object.values<any>(t.servicesTemplate.toJSON().Parameters ?? {})
        .filter(p => p.Type === 'AWS::SSM::Parameter::Value<String>' && !p.Default.startsWith('/cdk-bootstrap/'));
      expect(parameters.map(p => p.Default).sort()).toEqual(names);
      // and the containers get their hosts from those parameters
      const scheduler = envOf(taskDefinitions(t.servicesTemplate).scheduler.containers.find(c => c.Name === 'scheduler')!);
      expect(JSON.stringify(Object.values(scheduler))).toMatch(/"Ref":"SsmParameterValuecdkairflowecsStorage/);
      expect(t.servicesStack.dependencies).toContain(t.storageStack);
    });

    test('in one stack, the storage\'s values are used directly', () => {
      const { template } = oneStack();
      expect(Object.keys(template.toJSON().Parameters ?? {}).filter(k => /SsmParameterValuecdkairflowecs/.test(k))).toEqual([]);
    });

    test('exposes every child as a public property', () => {
      const a = t.airflow;
      expect(a.services.map(s => s.component.name)).toEqual(COMPONENTS);
      expect(a.apiServer.service).toBeInstanceOf(ecs.FargateService);
      expect(a.workers.taskDefinition).toBeInstanceOf(ecs.FargateTaskDefinition);
      expect(a.scheduler.container.containerName).toBe('scheduler');
      expect(t.storage.database).toBeDefined();
      expect(a.storage).toBe(t.storage);
      expect(a.storage.databaseSecret).toBeDefined();
      expect(a.storage.fernetKeySecret).toBeDefined();
      expect(a.storage.jwtSecret).toBeDefined();
      expect(a.storage.apiSecretKeySecret).toBeDefined();
      expect(a.storage.adminPasswordSecret).toBeDefined();
      expect(a.storage.brokerAuthTokenSecret).toBeDefined();
      expect(a.loadBalancer).toBeDefined();
      expect(a.listener).toBeDefined();
      expect(a.targetGroup).toBeDefined();
      expect(a.migration.taskDefinition).toBeDefined();
      expect(a.cluster).toBeInstanceOf(ecs.Cluster);
    });
  });

  describe('web access', () => {
    const certificate = (stack: Stack) => acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');

    test('publicHttps: internet-facing, HTTPS 443 with the certificate, only from the allow-list, base_url on the domain', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      new AirflowOnEcs(stack, 'Airflow', {
        webAccess: WebAccess.publicHttps({ certificate: certificate(stack), domainName: 'airflow.example.com', allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'] }),
      });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' }],
      });
      // plain HTTP only redirects to HTTPS
      const http = Object.values<any>(template.findResources('AWS::ElasticLoadBalancingV2::Listener')).filter(l => l.Properties.Protocol === 'HTTP');
      expect(http.map(l => l.Properties.DefaultActions.map((a: any) => a.Type))).toEqual([['redirect']]);
      const lbSg = Object.values<any>(template.findResources('AWS::EC2::SecurityGroup')).find(sg => /load balancer/.test(sg.Properties.GroupDescription))!;
      expect(lbSg.Properties.SecurityGroupIngress.map((r: any) => [r.CidrIp, r.FromPort]))
        .toEqual([['203.0.113.0/24', 443], ['203.0.113.0/24', 80], ['198.51.100.7/32', 443], ['198.51.100.7/32', 80]]);
      const api = taskDefinitions(template)['api-server'].containers.find(c => c.Name === 'api-server')!;
      expect(envOf(api).AIRFLOW__API__BASE_URL).toBe('https://airflow.example.com');
    });

    // pitfall #2: Public plain-HTTP web UI
    test('publicHttpInsecure: internet-facing HTTP only when asked for, with a synth warning', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      new AirflowOnEcs(stack, 'Airflow', { webAccess: WebAccess.publicHttpInsecure() });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
      Annotations.fromStack(stack).hasWarning('/S/Airflow', Match.stringLikeRegexp('publicHttpInsecure.*unencrypted'));
    });

    test('internal with a certificate serves HTTPS inside the VPC', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      new AirflowOnEcs(stack, 'Airflow', { webAccess: WebAccess.internalLoadBalancer({ certificate: certificate(stack) }) });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
    });
  });

  describe('images and versions', () => {
    test('AirflowVersion.of pins another 3.x release', () => {
      const { template } = oneStack({ image: AirflowImage.official(AirflowVersion.of('3.1.9')) });
      for (const td of Object.values(taskDefinitions(template))) {
        for (const c of td.containers) expect(upstreamImage(template, (c as any).Image)).toBe('apache/airflow:3.1.9');
      }
    });

    // pitfall #13: ARM64 vs AMD64 images (exec format error)
    test('a Dockerfile asset is built for the tasks\' architecture', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      new AirflowOnEcs(stack, 'Airflow', { image: AirflowImage.fromAsset(`${__dirname}/fixtures/image`) });
      const assembly = app.synth();
      const manifestArtifact = assembly.artifacts.find(a => a.id === 'S.assets')!;
      const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, (manifestArtifact.manifest.properties as any).file), 'utf8'));
      const images = Object.values<any>(manifest.dockerImages);
      expect(images.length).toBeGreaterThan(0);
      for (const i of images) expect(i.source.platform).toBe('linux/arm64');
    });

    test('X86_64 is available as an option', () => {
      const { template } = oneStack({ cpuArchitecture: ecs.CpuArchitecture.X86_64 });
      template.allResourcesProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' } });
    });
  });

  describe('options', () => {
    test('component sizes, counts and worker concurrency are applied', () => {
      const { template } = oneStack({
        scheduler: { cpu: 2048, memoryLimitMiB: 4096, desiredCount: 2 },
        workers: { cpu: 2048, memoryLimitMiB: 8192, minCapacity: 3, maxCapacity: 3, concurrency: 16 },
      });
      const tds = taskDefinitions(template);
      expect([tds.scheduler.properties.Cpu, tds.scheduler.properties.Memory]).toEqual(['2048', '4096']);
      expect(envOf(tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!).AIRFLOW__CELERY__WORKER_CONCURRENCY).toBe('16');
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 3 });
      template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2, TaskDefinition: { Ref: tds.scheduler.logicalId } });
    });

    test('extra environment reaches every component; per-component environment only that one', () => {
      const { template } = oneStack({
        environment: { AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' },
        scheduler: { environment: { AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL: '120' } },
      });
      for (const [name, td] of Object.entries(taskDefinitions(template))) {
        const env = envOf(td.containers[0]);
        expect(env.AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG).toBe('32');
        expect(env.AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL).toBe(name === 'scheduler' ? '120' : undefined);
      }
    });
  });
});

describe('stack outputs', () => {
  test('one stack: the URL and the admin password secret are outputs, as the README promises', () => {
    const { template } = oneStack({ adminUsername: 'ops' });
    const outputs = template.toJSON().Outputs;
    const url = Object.entries<any>(outputs).find(([id]) => id.startsWith('AirflowUrl'))![1];
    expect(url.Value).toEqual({ 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/^AirflowLoadBalancer/), 'DNSName'] }]] });
    const admin = Object.entries<any>(outputs).find(([id]) => id.startsWith('AirflowAdminPasswordSecret'))![1];
    expect(admin.Value).toEqual({ Ref: expect.stringMatching(/^AirflowStorageAdminPassword/) });
    expect(admin.Description).toMatch(/^The password of the Airflow user ops: aws secretsmanager get-secret-value .*--secret-id/);
  });

  test('two stacks: the outputs are in the services stack, the secret ARN imported from the storage stack', () => {
    const t = twoStacks();
    expect(Object.keys(t.storageTemplate.toJSON().Outputs ?? {}).filter(id => /Url|AdminPasswordSecret/.test(id) && !id.startsWith('Export'))).toEqual([]);
    const admin = Object.entries<any>(t.servicesTemplate.toJSON().Outputs).find(([id]) => id.startsWith('AirflowAdminPasswordSecret'))![1];
    expect(admin.Value).toEqual({ 'Fn::ImportValue': expect.stringMatching(/AdminPassword/) });
  });
});
