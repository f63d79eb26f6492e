/**
 * Faults the deployment survives, asserted where CloudFormation shows them (README "Failures the
 * deployment survives").
 */
import { Match } from 'aws-cdk-lib/assertions';
import { COMPONENTS, envOf, taskDefinitions, twoStacks } from '../util';

const t = twoStacks();
const tds = taskDefinitions(t.servicesTemplate);

test('a bad image or a crashing component rolls back: circuit breaker with rollback on every service', () => {
  t.servicesTemplate.allResourcesProperties('AWS::ECS::Service', {
    DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
  });
  // and a failed migration stops the deployment before any service changes
  for (const s of Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'))) {
    expect(s.DependsOn.some((d: string) => d.startsWith('AirflowMigrationRun'))).toBe(true);
  }
});

test('losing one AZ: tasks, database and broker subnets span two AZs; Multi-AZ database and broker are options', () => {
  for (const s of Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'))) {
    expect(s.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets).toHaveLength(2);
  }
  expect(Object.values<any>(t.storageTemplate.findResources('AWS::RDS::DBSubnetGroup'))[0].Properties.SubnetIds).toHaveLength(2);
  expect(Object.values<any>(t.storageTemplate.findResources('AWS::ElastiCache::SubnetGroup'))[0].Properties.SubnetIds).toHaveLength(2);
  const azs = Object.values<any>(t.storageTemplate.findResources('AWS::EC2::Subnet')).map(s => JSON.stringify(s.Properties.AvailabilityZone));
  expect(new Set(azs).size).toBe(2);
  const multi = twoStacks({}, { database: { multiAz: true }, broker: { replicas: 1 } });
  multi.storageTemplate.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: true });
  multi.storageTemplate.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { MultiAZEnabled: true, AutomaticFailoverEnabled: true });
});

// pitfall #45c: Spot interruptions lose running tasks and their logs
test('a Spot interruption reaches workers only, which drain within the 120 s stop timeout', () => {
  const services = Object.values<any>(t.servicesTemplate.findResources('AWS::ECS::Service'));
  const onSpot = services.filter(s => JSON.stringify(s.Properties.CapacityProviderStrategy ?? []).includes('FARGATE_SPOT'));
  expect(onSpot.map(s => s.Properties.TaskDefinition.Ref)).toEqual([tds['celery-worker'].logicalId]);
  const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
  expect(worker.StopTimeout).toBe(120);
  expect(envOf(worker).DUMB_INIT_SETSID).toBe('0');
});

test('the database restarting: Airflow\'s own waits and reconnects are left on', () => {
  for (const name of COMPONENTS) {
    const env = envOf(tds[name].containers.find(c => c.Name === name)!);
    // the image's entrypoint checks the database up to CONNECTION_CHECK_MAX_COUNT times; we keep its default
    expect(env.CONNECTION_CHECK_MAX_COUNT).toBeUndefined();
    // Airflow's own default sql_alchemy_pool_pre_ping=True re-opens dead connections; not overridden
    expect(env.AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_PRE_PING).toBeUndefined();
  }
});

test('a rotated secret reaches containers only in new tasks: secrets are ECS secrets, resolved at task start', () => {
  for (const name of COMPONENTS) {
    const c = tds[name].containers.find(x => x.Name === name)!;
    expect((c.Secrets ?? []).length).toBeGreaterThanOrEqual(6);
  }
});
