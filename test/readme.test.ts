import * as fs from 'fs';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { taskDefinitions, twoStacks } from './util';
import { defaultsTable, END, GUARD_END, GUARD_START, guardTable, NAG_END, NAG_START, nagTable, START } from '../scripts/readme-defaults';
import { DEFAULTS } from '../src/private/defaults';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  test('shows the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm run example');
    expect(readme).toContain('npm test');
  });

  test('"Default settings" is exactly the table rendered from the defaults in code', () => {
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + START.length, end).trim()).toBe(defaultsTable());
  });

  test('"Security checks" lists exactly the cdk-nag acknowledgements in code', () => {
    const start = readme.indexOf(NAG_START);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + NAG_START.length, readme.indexOf(NAG_END)).trim()).toBe(nagTable());
  });

  test('the Control Tower exceptions table is exactly the list the guard test enforces', () => {
    const start = readme.indexOf(GUARD_START);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + GUARD_START.length, readme.indexOf(GUARD_END)).trim()).toBe(guardTable());
  });

  test('has an architecture diagram that GitHub renders', () => {
    expect(readme).toMatch(/```mermaid\nflowchart/);
  });
});

describe('the defaults in code are the defaults that are synthesized', () => {
  const t = twoStacks();
  const tds = taskDefinitions(t.servicesTemplate);
  const sizeOf = (name: string) => ({ cpu: Number(tds[name].properties.Cpu), memoryLimitMiB: Number(tds[name].properties.Memory) });

  test('component sizes and counts', () => {
    const pick = (d: { cpu: number; memoryLimitMiB: number }) => ({ cpu: d.cpu, memoryLimitMiB: d.memoryLimitMiB });
    expect(sizeOf('api-server')).toEqual(pick(DEFAULTS.apiServer));
    expect(sizeOf('scheduler')).toEqual(pick(DEFAULTS.scheduler));
    expect(sizeOf('dag-processor')).toEqual(pick(DEFAULTS.dagProcessor));
    expect(sizeOf('triggerer')).toEqual(pick(DEFAULTS.triggerer));
    expect(sizeOf('celery-worker')).toEqual(pick(DEFAULTS.workers));
    expect(sizeOf('migrate')).toEqual(pick(DEFAULTS.migration));
    for (const s of Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'))) {
      const isWorker = s.Properties.TaskDefinition.Ref === tds['celery-worker'].logicalId;
      expect(s.Properties.DesiredCount).toBe(isWorker ? undefined : 1);
    }
    t.servicesTemplate.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: DEFAULTS.workerScaling.minCapacity, MaxCapacity: DEFAULTS.workerScaling.maxCapacity,
    });
    const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect(worker.Environment!.find(e => e.Name === 'AIRFLOW__CELERY__WORKER_CONCURRENCY')!.Value).toBe(`${DEFAULTS.workers.concurrency}`);
    for (const td of Object.values(tds)) expect(td.properties.RuntimePlatform.CpuArchitecture).toBe(DEFAULTS.cpuArchitecture);
  });

  test('services, logs and load balancer', () => {
    t.servicesTemplate.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: DEFAULTS.logRetentionDays });
    t.servicesTemplate.hasResourceProperties('AWS::ECS::Service', { HealthCheckGracePeriodSeconds: DEFAULTS.healthCheckGracePeriodSeconds });
    t.servicesTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: `${DEFAULTS.deregistrationDelaySeconds}` }, { Key: 'stickiness.enabled', Value: 'false' }],
    });
    expect(JSON.stringify(t.servicesTemplate.toJSON())).toContain(`--migration-wait-timeout ${DEFAULTS.migrationWaitTimeoutSeconds}`);
    t.servicesTemplate.hasResourceProperties('AWS::ServiceDiscovery::HttpNamespace', { Name: DEFAULTS.serviceConnectNamespace });
    expect(tds.migrate.containers[0].Environment!.find(e => e.Name === 'CDK_AIRFLOW_ADMIN_USERNAME')!.Value).toBe(DEFAULTS.adminUsername);
  });

  test('storage', () => {
    const s: Template = t.storageTemplate;
    s.resourceCountIs('AWS::EC2::NatGateway', 0);
    s.resourceCountIs('AWS::EC2::Instance', DEFAULTS.vpcNatGateways);
    s.hasResourceProperties('AWS::EC2::Instance', { InstanceType: DEFAULTS.natInstanceType });
    s.resourceCountIs('AWS::EC2::Subnet', DEFAULTS.vpcMaxAzs * 3);
    s.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      Properties: {
        DBInstanceClass: DEFAULTS.databaseInstanceType,
        EngineVersion: '17',
        AllocatedStorage: `${DEFAULTS.databaseAllocatedStorageGiB}`,
        MaxAllocatedStorage: DEFAULTS.databaseMaxAllocatedStorageGiB,
        BackupRetentionPeriod: DEFAULTS.databaseBackupRetentionDays,
        MultiAZ: DEFAULTS.databaseMultiAz,
        DeletionProtection: DEFAULTS.databaseDeletionProtection,
        DBName: DEFAULTS.databaseName,
      } as any,
    });
    s.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheNodeType: DEFAULTS.brokerNodeType,
      EngineVersion: DEFAULTS.brokerEngineVersion,
      ReplicasPerNodeGroup: DEFAULTS.brokerReplicas,
    });
  });
});
