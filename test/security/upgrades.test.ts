/**
 * Day-to-day changes never replace or remove stateful resources. Each case synthesizes a
 * deployment, changes what users change in practice, synthesizes again and diffs the two with the
 * CDK's own diff engine (@aws-cdk/cloudformation-diff, what `cdk diff` uses).
 */
import { fullDiff, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  AirflowImage, AirflowOnEcs, AirflowOnEcsProps, AirflowStorage, AirflowStorageProps, AirflowVersion, DagSource, GitCredentials, WebAccess,
} from '../../src';

const STATEFUL = new Set([
  'AWS::RDS::DBInstance', 'AWS::RDS::DBSubnetGroup', 'AWS::SecretsManager::Secret', 'AWS::SecretsManager::SecretTargetAttachment',
  'AWS::ElastiCache::ReplicationGroup', 'AWS::ElastiCache::SubnetGroup', 'AWS::S3::Bucket', 'AWS::EC2::VPC', 'AWS::EC2::Subnet',
]);
const LOSES = [ResourceImpact.WILL_REPLACE, ResourceImpact.MAY_REPLACE, ResourceImpact.WILL_DESTROY, ResourceImpact.WILL_ORPHAN];

type Config = { services: (stack: Stack) => Omit<AirflowOnEcsProps, 'storage'>; storage?: AirflowStorageProps };

function synth(config: Config): Record<string, any> {
  const app = new App();
  const storageStack = new Stack(app, 'AirflowStorage');
  const storage = new AirflowStorage(storageStack, 'Storage', config.storage ?? {});
  const servicesStack = new Stack(app, 'AirflowServices');
  new AirflowOnEcs(servicesStack, 'Airflow', { ...config.services(servicesStack), storage });
  const assembly = app.synth();
  return Object.fromEntries(assembly.stacks.map(s => [s.stackName, s.template]));
}

/** Stateful resources the change would replace, destroy or orphan, as "Stack/LogicalId (Type): impact". */
function statefulLosses(before: Config, after: Config): string[] {
  const a = synth(before);
  const b = synth(after);
  const losses: string[] = [];
  for (const stack of Object.keys(a)) {
    const diff = fullDiff(a[stack], b[stack]);
    diff.resources.forEachDifference((id, change) => {
      const type = change.oldValue?.Type ?? change.newValue?.Type ?? '';
      if (STATEFUL.has(type) && LOSES.includes(change.changeImpact)) losses.push(`${stack}/${id} (${type}): ${change.changeImpact}`);
    });
  }
  return losses;
}

const cert = (s: Stack) => acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
const token = (s: Stack) => secretsmanager.Secret.fromSecretNameV2(s, 'Token', 'dags-token');
const base: Config = { services: () => ({}) };

const dayToDay: [string, Config][] = [
  ['a new Airflow version', { services: () => ({ image: AirflowImage.official(AirflowVersion.of('3.1.9')) }) }],
  ['your own image from ECR', { services: s => ({ image: AirflowImage.fromEcrRepository(ecr.Repository.fromRepositoryName(s, 'Repo', 'airflow'), '3.3.2-acme-2', AirflowVersion.V3_3_2) }) }],
  ['x86 instead of ARM', { services: () => ({ cpuArchitecture: ecs.CpuArchitecture.X86_64 }) }],
  ['bigger components', { services: () => ({ scheduler: { cpu: 2048, memoryLimitMiB: 4096 }, apiServer: { cpu: 2048, memoryLimitMiB: 8192, desiredCount: 2 } }) }],
  ['other worker bounds, size and concurrency', { services: () => ({ workers: { minCapacity: 1, maxCapacity: 12, cpu: 2048, memoryLimitMiB: 8192, concurrency: 16 } }) }],
  ['Spot off', { services: () => ({ workers: { spot: false } }) }],
  ['a longer scale-in cooldown and queue wait', { services: () => ({ workers: { scaleInCooldown: Duration.minutes(20), maxQueueWait: Duration.hours(2) } }) }],
  ['DAGs from git instead of the image', { services: s => ({ dags: DagSource.gitSync({ repository: 'https://github.com/acme/dags.git', credentials: GitCredentials.httpsToken({ secret: token(s) }) }) }) }],
  ['public HTTPS instead of internal', { services: s => ({ webAccess: WebAccess.publicHttps({ certificate: cert(s), domainName: 'airflow.example.com', allowedCidrs: ['203.0.113.0/24'] }) }) }],
  ['a certificate on the internal load balancer', { services: s => ({ webAccess: WebAccess.internalLoadBalancer({ certificate: cert(s) }) }) }],
  ['extra environment', { services: () => ({ environment: { AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' } }) }],
  ['a bigger database instance and more storage', { services: () => ({}), storage: { database: { instanceType: ec2.InstanceType.of(ec2.InstanceClass.M7G, ec2.InstanceSize.LARGE), allocatedStorageGiB: 100, maxAllocatedStorageGiB: 500 } } }],
  ['other database subnets', { services: () => ({}), storage: { dataSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } } }],
  ['a bigger broker node', { services: () => ({}), storage: { broker: { nodeType: 'cache.m7g.large' } } }],
];

describe('day-to-day changes keep every stateful resource', () => {
  test.each(dayToDay)('%s', (_name, after) => {
    expect(statefulLosses(base, after)).toEqual([]);
  });
});

describe('storage props whose change the diff engine reports as replacing (not day-to-day; see README)', () => {
  test.each<[string, AirflowStorageProps, RegExp]>([
    ['database.databaseName', { database: { databaseName: 'airflow_prod' } }, /StorageDatabase\w+ \(AWS::RDS::DBInstance\): WILL_REPLACE/],
    ['broker.replicas', { broker: { replicas: 1 } }, /StorageBroker\w+ \(AWS::ElastiCache::ReplicationGroup\): WILL_REPLACE/],
    // MAY_REPLACE: the resource specification marks these updates conditional; CloudFormation's
    // AWS::RDS::DBInstance documentation lists them as updated in place (no synth warning).
    ['database.multiAz', { database: { multiAz: true } }, /StorageDatabase\w+ \(AWS::RDS::DBInstance\): MAY_REPLACE/],
    ['database.backupRetention', { database: { backupRetention: Duration.days(30) } }, /StorageDatabase\w+ \(AWS::RDS::DBInstance\): MAY_REPLACE/],
  ])('%s', (_prop, storage, loss) => {
    expect(statefulLosses(base, { services: () => ({}), storage })).toEqual([expect.stringMatching(loss)]);
  });
});

test('the props that replace stateful resources warn at synth', () => {
  const stack = new Stack(new App(), 'S');
  new AirflowStorage(stack, 'Storage', { database: { databaseName: 'airflow_prod' }, broker: { replicas: 1 } });
  const warnings = Annotations.fromStack(stack);
  warnings.hasWarning('/S/Storage', Match.stringLikeRegexp("database.databaseName \\('airflow_prod'\\) is set: changing it after the first deployment replaces the database instance"));
  warnings.hasWarning('/S/Storage', Match.stringLikeRegexp('broker.replicas \\(1\\) is set: changing it after the first deployment replaces the broker'));
});
