import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AirflowOnEcs, DagSource, GitCredentials, GitSyncOptions, GitSyncSidecar, IDagSource } from '../../src';
import { COMPONENTS, envOf, synthError, taskDefinitions, upstreamImage } from '../util';

const KNOWN_HOSTS = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

function withDags(dags: (stack: Stack) => IDagSource) {
  const stack = new Stack(new App(), 'S');
  const airflow = new AirflowOnEcs(stack, 'Airflow', { dags: dags(stack) });
  return { stack, airflow, template: Template.fromStack(stack) };
}
const token = (s: Stack) => secretsmanager.Secret.fromSecretNameV2(s, 'Token', 'github-token');

describe('DagSource.gitSync on AirflowOnEcs', () => {
  const { template, airflow } = withDags(s => DagSource.gitSync({
    repository: 'https://github.com/acme/dags.git',
    branch: 'main',
    subPath: 'dags',
    credentials: GitCredentials.httpsToken({ secret: token(s), username: 'x-access-token' }),
  }));
  const tds = taskDefinitions(template);
  const READERS = ['dag-processor', 'triggerer', 'celery-worker'];

  // pitfall #19: DAGs on shared storage vs git-sync
  test('adds git-sync to exactly the components that read DAG files', () => {
    for (const name of COMPONENTS) {
      const names = tds[name].containers.map(c => c.Name);
      const expected = READERS.includes(name);
      expect({ name, gitSync: names.includes('git-sync') }).toEqual({ name, gitSync: expected });
      expect({ name, init: names.includes('git-sync-init') }).toEqual({ name, init: expected });
      expect({ name, prepare: names.includes('git-sync-prepare') }).toEqual({ name, prepare: expected });
    }
    for (const s of [airflow.dagProcessor, airflow.triggerer, airflow.workers]) {
      expect(s.node.tryFindChild('GitSync')).toBeInstanceOf(GitSyncSidecar);
      expect(s.dagSource?.syncErrorsAlarm).toBeDefined();
    }
    expect(airflow.scheduler.dagSource).toBeUndefined();
    expect(airflow.apiServer.node.tryFindChild('GitSync')).toBeUndefined();
  });

  test('points [core] dags_folder at the synced sub-path, identically in every component', () => {
    for (const name of COMPONENTS) {
      const main = tds[name].containers.find(c => c.Name === name)!;
      expect(envOf(main).AIRFLOW__CORE__DAGS_FOLDER).toBe('/opt/airflow/git/repo/dags');
    }
  });

  test.each(READERS)('%s: prepare (root) -> first sync -> Airflow and the sidecar, on one shared volume', (name) => {
    const td = tds[name];
    const c = (n: string) => td.containers.find(x => x.Name === n)! as any;
    expect(td.properties.Volumes).toEqual([{ Name: 'git-sync-dags' }]);

    expect(c('git-sync-prepare')).toEqual(expect.objectContaining({ User: '0', Essential: false, EntryPoint: ['/bin/bash', '-c'] }));
    expect(c('git-sync-prepare').MountPoints).toEqual([{ ContainerPath: '/git', SourceVolume: 'git-sync-dags', ReadOnly: false }]);

    expect(c('git-sync-init').Essential).toBe(false);
    expect(c('git-sync-init').User).toBe('65533:65533');
    expect(c('git-sync-init').DependsOn).toEqual([{ ContainerName: 'git-sync-prepare', Condition: 'SUCCESS' }]);
    expect(envOf(c('git-sync-init'))).toEqual(expect.objectContaining({ GITSYNC_ONE_TIME: 'true', GITSYNC_MAX_FAILURES: '3' }));

    expect(c('git-sync').Essential).toBe(true);
    expect(c('git-sync').User).toBe('65533:65533');
    expect(c('git-sync').DependsOn).toEqual([{ ContainerName: 'git-sync-init', Condition: 'SUCCESS' }]);
    expect(c('git-sync').HealthCheck).toEqual(expect.objectContaining({ Command: ['CMD', '/bin/bash', '-c', expect.stringContaining('/dev/tcp/127.0.0.1/8780')] }));
    expect(envOf(c('git-sync'))).toEqual(expect.objectContaining({
      GITSYNC_REPO: 'https://github.com/acme/dags.git',
      GITSYNC_REF: 'main',
      GITSYNC_ROOT: '/git',
      GITSYNC_LINK: 'repo',
      GITSYNC_PERIOD: '60s',
      GITSYNC_DEPTH: '1',
      GITSYNC_MAX_FAILURES: '-1',
      GITSYNC_HTTP_BIND: '127.0.0.1:8780',
      GITSYNC_USERNAME: 'x-access-token',
    }));
    expect(upstreamImage(template, c('git-sync').Image)).toBe('registry.k8s.io/git-sync/git-sync:v4.7.1');

    const airflowContainer = c(name);
    expect(airflowContainer.MountPoints).toEqual([{ ContainerPath: '/opt/airflow/git', SourceVolume: 'git-sync-dags', ReadOnly: true }]);
    expect(airflowContainer.DependsOn).toEqual(expect.arrayContaining([{ ContainerName: 'git-sync-init', Condition: 'SUCCESS' }]));
    expect(airflowContainer.User).toBe('50000:0'); // Airflow's own user, never root
  });

  test('the token reaches git-sync only as an ECS secret, never in plain environment', () => {
    const c = tds['celery-worker'].containers.find(x => x.Name === 'git-sync')!;
    expect(c.Secrets).toEqual([{ Name: 'GITSYNC_PASSWORD', ValueFrom: expect.anything() }]);
    expect(JSON.stringify(c.Secrets![0].ValueFrom)).toContain('secret:github-token');
    for (const td of Object.values(tds)) {
      for (const x of td.containers) expect(Object.keys(envOf(x))).not.toContain('GITSYNC_PASSWORD');
    }
    // the execution roles that inject it may read it
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('secret:github-token')])]) }) })]) },
    });
  });

  test('an alarm on failed syncs per component, from the git-sync logs', () => {
    template.resourceCountIs('AWS::Logs::MetricFilter', 3);
    template.allResourcesProperties('AWS::Logs::MetricFilter', { FilterPattern: '"error syncing repo"' });
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('^git-sync cannot sync') }, 3);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('git-sync cannot sync https://github.com/acme/dags.git'),
    });
  });
});

test('SSH: the key goes only to the root prepare step, as an ECS secret, and git-sync reads it from a task volume', () => {
  const { template } = withDags(s => DagSource.gitSync({
    repository: 'git@github.com:acme/dags.git',
    revision: 'v1.4.0',
    credentials: GitCredentials.sshKey({ secret: secretsmanager.Secret.fromSecretNameV2(s, 'Key', 'deploy-key'), field: 'private_key', knownHosts: KNOWN_HOSTS }),
  }));
  const td = taskDefinitions(template)['dag-processor'];
  const c = (n: string) => td.containers.find(x => x.Name === n)! as any;
  expect(td.properties.Volumes).toEqual([{ Name: 'git-sync-dags' }, { Name: 'git-sync-secret' }]);
  expect(c('git-sync-prepare').Secrets.map((x: any) => x.Name)).toEqual(['CDK_GITSYNC_SSH_KEY']);
  expect(JSON.stringify(c('git-sync-prepare').Secrets[0].ValueFrom)).toContain(':private_key::');
  expect(envOf(c('git-sync-prepare')).CDK_GITSYNC_KNOWN_HOSTS).toBe(KNOWN_HOSTS);
  for (const n of ['git-sync-init', 'git-sync']) {
    expect(c(n).Secrets).toBeUndefined();
    expect(c(n).MountPoints).toEqual(expect.arrayContaining([{ ContainerPath: '/etc/git-secret', SourceVolume: 'git-sync-secret', ReadOnly: true }]));
    expect(envOf(c(n)).GITSYNC_REF).toBe('v1.4.0');
  }
  expect(c('dag-processor').MountPoints).not.toEqual(expect.arrayContaining([expect.objectContaining({ SourceVolume: 'git-sync-secret' })]));
  expect(envOf(c('dag-processor')).AIRFLOW__CORE__DAGS_FOLDER).toBe('/opt/airflow/git/repo');
});

test('DagSource.fromImage(): no sidecar; a custom folder is set everywhere', () => {
  const { template } = withDags(() => DagSource.fromImage({ dagsFolder: '/opt/airflow/company/dags' }));
  template.resourcePropertiesCountIs('AWS::ECS::TaskDefinition', { Volumes: Match.arrayWith([Match.objectLike({ Name: 'git-sync-dags' })]) }, 0);
  for (const td of Object.values(taskDefinitions(template))) {
    // the one-off tasks read no DAG files
    if (['migrate', 'db-clean'].includes(td.containers[0].Name)) continue;
    expect(envOf(td.containers[0]).AIRFLOW__CORE__DAGS_FOLDER).toBe('/opt/airflow/company/dags');
  }
});

// pitfall #50: The git-sync image mirrored to ECR
test('GitSyncSidecar works alone on any Fargate task definition', () => {
  const stack = new Stack(new App(), 'S');
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Td', { cpu: 512, memoryLimitMiB: 1024 });
  const container = taskDefinition.addContainer('App', { image: ecs.ContainerImage.fromRegistry('apache/airflow:3.1.8') });
  const sidecar = new GitSyncSidecar(stack, 'GitSync', {
    taskDefinition,
    container,
    repository: 'https://github.com/acme/dags.git',
    period: Duration.seconds(30),
    depth: 0,
    maxFailures: 10,
    mountPath: '/dags',
    image: ecs.ContainerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/git-sync:v4.7.1'),
  });
  expect(sidecar.dagsFolder).toBe('/dags/repo');
  const t = Template.fromStack(stack);
  const td = Object.values<any>(t.findResources('AWS::ECS::TaskDefinition'))[0];
  const gs = td.Properties.ContainerDefinitions.find((c: any) => c.Name === 'git-sync');
  expect(gs.Image).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/git-sync:v4.7.1');
  expect(envOf(gs)).toEqual(expect.objectContaining({ GITSYNC_PERIOD: '30s', GITSYNC_DEPTH: '0', GITSYNC_MAX_FAILURES: '10', GITSYNC_REF: 'HEAD' }));
  const app = td.Properties.ContainerDefinitions.find((c: any) => c.Name === 'App');
  expect(envOf(app).AIRFLOW__CORE__DAGS_FOLDER).toBe('/dags/repo');
  t.resourceCountIs('AWS::Logs::LogGroup', 1);
});

test('pitfall #20: caCertificates reaches only the root step, as an ECS secret; git-sync trusts the file it writes', () => {
  const stack = new Stack(new App(), 'S');
  const ca = secretsmanager.Secret.fromSecretNameV2(stack, 'Ca', 'git-ca');
  new AirflowOnEcs(stack, 'Airflow', { dags: DagSource.gitSync({ repository: 'https://git.internal.example/acme/dags.git', caCertificates: ecs.Secret.fromSecretsManager(ca) }) });
  const worker = taskDefinitions(Template.fromStack(stack))['celery-worker'];
  const byName = (n: string) => worker.containers.find(c => c.Name === n)!;
  expect(byName('git-sync-prepare').Secrets!.map(x => x.Name)).toEqual(['CDK_GITSYNC_CA_CERTIFICATES']);
  for (const n of ['git-sync-init', 'git-sync']) {
    expect(envOf(byName(n)).GIT_SSL_CAINFO).toBe('/etc/git-secret/ca-certificates.crt');
    expect(byName(n).Secrets ?? []).toEqual([]);
  }
  // the secret volume: written by the root step, read-only for git-sync, absent from Airflow's container
  const mounts = (n: string) => (byName(n) as any).MountPoints.filter((m: any) => m.ContainerPath === '/etc/git-secret');
  expect(mounts('git-sync-prepare')).toEqual([expect.objectContaining({ ReadOnly: false })]);
  expect(mounts('git-sync')).toEqual([expect.objectContaining({ ReadOnly: true })]);
  expect((byName('celery-worker') as any).MountPoints.some((m: any) => m.ContainerPath === '/etc/git-secret')).toBe(false);
});

// pitfall #53: git-sync repository configuration
describe('bad git-sync input fails at synth with the prop, the value and the fix', () => {
  const secret = (s: Stack) => secretsmanager.Secret.fromSecretNameV2(s, 'X', 'x');
  const cases: [string, (s: Stack) => GitSyncOptions, RegExp][] = [
    ['an SSH URL without an SSH key', () => ({ repository: 'git@github.com:acme/dags.git' }), /dags\.repository \('git@github\.com:acme\/dags\.git'\) is an SSH URL but dags\.credentials is not set; pass credentials: GitCredentials\.sshKey/],
    ['an ssh:// URL with an HTTPS token', s => ({ repository: 'ssh://git@github.com/acme/dags.git', credentials: GitCredentials.httpsToken({ secret: secret(s) }) }), /is an SSH URL but dags\.credentials is an HTTPS token/],
    ['an SSH key with an https URL', s => ({ repository: 'https://github.com/acme/dags.git', credentials: GitCredentials.sshKey({ secret: secret(s), knownHosts: KNOWN_HOSTS }) }), /dags\.credentials is an SSH key but dags\.repository .* is not an SSH URL/],
    // pitfall #20: a CA verifies only an HTTPS host
    ['a private CA for an SSH repository', s => ({
      repository: 'ssh://git@github.com/acme/dags.git',
      credentials: GitCredentials.sshKey({ secret: secret(s), knownHosts: KNOWN_HOSTS }),
      caCertificates: ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretNameV2(s, 'Ca', 'git-ca')),
    }), /dags\.caCertificates is set but dags\.repository \('ssh:\/\/github\.com\/acme\/dags\.git'\) is not an https:\/\/ URL; a CA only verifies an HTTPS host/],
    ['credentials inside the URL', () => ({ repository: 'https://bob:hunter2@github.com/acme/dags.git' }), /dags\.repository \('https:\/\/github\.com\/acme\/dags\.git'\) contains credentials, which would be stored in plain text/],
    ['a token over plain http', s => ({ repository: 'http://git.internal/acme/dags.git', credentials: GitCredentials.httpsToken({ secret: secret(s) }) }), /is plain http:\/\/, so the token would cross the network unencrypted; use https:\/\//],
    ['not a URL', () => ({ repository: 'acme/dags' }), /dags\.repository \('acme\/dags'\) is not a git URL/],
    ['a sub-path that escapes the repository', () => ({ repository: 'https://github.com/acme/dags.git', subPath: '../etc' }), /dags\.subPath \('\.\.\/etc'\) must be a relative path inside the repository/],
    ['an absolute sub-path', () => ({ repository: 'https://github.com/acme/dags.git', subPath: '/dags' }), /dags\.subPath \('\/dags'\) must be a relative path/],
    ['a sub-path with .. inside', () => ({ repository: 'https://github.com/acme/dags.git', subPath: 'a/../../b' }), /dags\.subPath \('a\/\.\.\/\.\.\/b'\) must be a relative path/],
    ['a period below one second', () => ({ repository: 'https://github.com/acme/dags.git', period: Duration.millis(500) }), /dags\.period \(500 ms\) is below one second/],
    ['a fractional period', () => ({ repository: 'https://github.com/acme/dags.git', period: Duration.millis(1500) }), /dags\.period \(1500 ms\) must be whole seconds/],
    ['a negative depth', () => ({ repository: 'https://github.com/acme/dags.git', depth: -1 }), /dags\.depth \(-1\) must be a whole number >= 0/],
    ['maxFailures below -1', () => ({ repository: 'https://github.com/acme/dags.git', maxFailures: -5 }), /dags\.maxFailures \(-5\) must be a whole number >= -1/],
    ['branch and revision together', () => ({ repository: 'https://github.com/acme/dags.git', branch: 'main', revision: 'abc123' }), /dags\.branch \('main'\) and dags\.revision \('abc123'\) are mutually exclusive/],
    ['a branch with spaces', () => ({ repository: 'https://github.com/acme/dags.git', branch: 'my branch' }), /dags\.branch \('my branch'\) is not a valid git ref/],
    ['known_hosts without a host key', s => ({ repository: 'git@github.com:acme/dags.git', credentials: GitCredentials.sshKey({ secret: secret(s), knownHosts: 'github.com' }) }), /knownHosts \('github\.com'\) has no host key line; pass the output of `ssh-keyscan <host>`/],
  ];
  test.each(cases)('%s', (_name, options, message) => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { dags: DagSource.gitSync(options(stack)) }))).toMatch(message);
  });
});
