/**
 * cdk-nag's AwsSolutions pack reports no unacknowledged error or warning on the example apps, on
 * a maximal configuration and on any valid configuration fast-check generates. Every
 * acknowledgement sits on a specific resource, with its reason, and is listed in the README.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as fc from 'fast-check';
import { createApp as basicApp } from '../../examples/basic/app';
import { createApp as gitSyncApp } from '../../examples/git-sync/app';
import { createApp as workerPoolsApp } from '../../examples/worker-pools/app';
import {
  AirflowImage, AirflowOnEcs, AirflowOnEcsProps, AirflowStorage, AirflowStorageProps, AirflowVersion, DagSource, GitCredentials,
  SecretsBackend, Smtp, WebAccess,
} from '../../src';

const KNOWN_HOSTS = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

/** Runs AwsSolutions on an app; returns the unacknowledged findings as "level rule path". */
function nagFindings(app: App): string[] {
  Aspects.of(app).add(new AwsSolutionsChecks({ reports: false }));
  app.synth();
  const findings: string[] = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if ((m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && /AwsSolutions|CdkNag/.test(String(m.data))) {
        findings.push(`${m.type.replace('aws:cdk:', '')} ${String(m.data).split(': ')[0]} ${c.node.path}`);
      }
    }
  }
  return findings;
}

/** Every acknowledgement in an app's templates: rule id -> reasons. */
function acknowledgements(app: App): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const stack of app.synth().stacks) {
    for (const r of Object.values<any>(stack.template.Resources ?? {})) {
      for (const rule of r.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
        if (!out.has(rule.id)) out.set(rule.id, new Set());
        out.get(rule.id)!.add(rule.reason);
      }
    }
  }
  return out;
}

function deployment(props: Omit<AirflowOnEcsProps, 'storage'> | ((s: Stack) => Omit<AirflowOnEcsProps, 'storage'>), storageProps: AirflowStorageProps = {}): App {
  const app = new App();
  const storageStack = new Stack(app, 'Storage');
  const storage = new AirflowStorage(storageStack, 'Storage', storageProps);
  const stack = new Stack(app, 'Services');
  new AirflowOnEcs(stack, 'Airflow', { ...(typeof props === 'function' ? props(stack) : props), storage });
  return app;
}

const maximal = () => deployment(s => ({
  image: AirflowImage.official(AirflowVersion.of('3.1.9')),
  cpuArchitecture: ecs.CpuArchitecture.X86_64,
  webAccess: WebAccess.publicHttps({
    certificate: acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc'),
    domainName: 'airflow.example.com',
    allowedCidrs: ['203.0.113.0/24'],
  }),
  dags: DagSource.gitSync({
    repository: 'git@github.com:acme/dags.git',
    subPath: 'dags',
    credentials: GitCredentials.sshKey({ secret: secretsmanager.Secret.fromSecretNameV2(s, 'Key', 'deploy-key'), knownHosts: KNOWN_HOSTS }),
  }),
  apiServer: { cpu: 2048, memoryLimitMiB: 4096, desiredCount: 2 },
  scheduler: { cpu: 2048, memoryLimitMiB: 4096, desiredCount: 2 },
  workers: { cpu: 2048, memoryLimitMiB: 8192, concurrency: 16, minCapacity: 1, maxCapacity: 20, spot: true, onDemandBase: 1 },
  environment: { AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' },
  enableExecuteCommand: true,
  secretsBackend: SecretsBackend.secretsManager({ configPrefix: 'airflow/config' }),
  smtp: { host: Smtp.sesHost('eu-west-1'), fromAddress: 'airflow@example.com', credentials: ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretNameV2(s, 'Smtp', 'smtp')) },
}), { database: { multiAz: true, instanceType: ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE) }, broker: { replicas: 1 } });

describe('AwsSolutions checks', () => {
  test.each<[string, () => App]>([
    ['examples/basic', () => basicApp()],
    ['examples/git-sync', () => gitSyncApp()],
    ['examples/worker-pools', () => workerPoolsApp()],
    ['a maximal configuration', maximal],
    ['connections and variables from Parameter Store', () => deployment({ secretsBackend: SecretsBackend.parameterStore() })],
    ['public HTTPS open to the internet', () => deployment(s => ({ webAccess: WebAccess.publicHttps({ certificate: acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:eu-west-1:123456789012:certificate/x') }) }))],
  ])('%s: no unacknowledged finding', (_name, app) => {
    expect(nagFindings(app())).toEqual([]);
  });

  test('plain HTTP open to the internet is reported, not hidden', () => {
    const findings = nagFindings(deployment({ webAccess: WebAccess.publicHttpInsecure() }));
    expect(findings).toEqual([expect.stringMatching(/^error AwsSolutions-EC23 Services\/Airflow\/LoadBalancerSecurityGroup/)]);
  });

  test('a wildcard a user grants to a task role is reported, not hidden by the library\'s acknowledgements', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    // ECS Exec on too: its own Resource::* is acknowledged on its own policy only
    const airflow = new AirflowOnEcs(stack, 'Airflow', { enableExecuteCommand: true });
    const reports = new s3.Bucket(stack, 'Reports');
    reports.grantRead(airflow.workers);
    reports.grantRead(airflow.scheduler);
    const reported = nagFindings(app).filter(f => f.includes('IAM5'));
    expect(reported.sort()).toEqual([
      expect.stringMatching(/^error AwsSolutions-IAM5\[Resource::<Reports\w+\.Arn>\/\*\] S\/Airflow\/Scheduler\/TaskDefinition\/TaskRole\/DefaultPolicy\/Resource$/),
      expect.stringMatching(/^error AwsSolutions-IAM5\[Resource::<Reports\w+\.Arn>\/\*\] S\/Airflow\/Workers\/TaskDefinition\/TaskRole\/DefaultPolicy\/Resource$/),
    ]);
  });

  // pitfall #5: CDK warnings ignored
  test('every acknowledgement has a reason and is listed in the README', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const acks = new Map<string, Set<string>>();
    for (const app of [maximal(), basicApp(), deployment({ webAccess: WebAccess.internalLoadBalancer() }, { database: { multiAz: false } })]) {
      for (const [id, reasons] of acknowledgements(app)) {
        if (!acks.has(id)) acks.set(id, new Set());
        reasons.forEach(r => acks.get(id)!.add(r));
      }
    }
    expect(acks.size).toBeGreaterThanOrEqual(10);
    for (const [id, reasons] of acks) {
      expect({ id, inReadme: readme.includes(`\`${id}\``) }).toEqual({ id, inReadme: true });
      for (const reason of reasons) expect(reason.length).toBeGreaterThan(40);
    }
  });
});

describe('any valid configuration passes the AwsSolutions checks (property-based)', () => {
  const fargate = fc.constantFrom<[number, number]>([512, 1024], [1024, 2048], [1024, 4096], [2048, 4096], [2048, 8192], [4096, 8192]);
  const config = fc.record({
    version: fc.constantFrom('3.1.8', '3.1.9', '3.2.0'),
    x86: fc.boolean(),
    scheduler: fargate,
    worker: fc.constantFrom<[number, number]>([1024, 3072], [2048, 8192], [4096, 16384]),
    concurrency: fc.integer({ min: 1, max: 8 }),
    minCapacity: fc.integer({ min: 0, max: 3 }),
    extraWorkers: fc.integer({ min: 0, max: 7 }),
    spot: fc.boolean(),
    cooldownMinutes: fc.integer({ min: 1, max: 60 }),
    access: fc.constantFrom('internal', 'internal-https', 'public-https', 'public-https-restricted'),
    dags: fc.constantFrom('image', 'git-https', 'git-ssh'),
    multiAz: fc.boolean(),
    replicas: fc.integer({ min: 0, max: 2 }),
  });

  test('synthesizes and reports nothing unacknowledged', () => {
    fc.assert(fc.property(config, c => {
      const app = deployment(s => {
        const cert = acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:eu-west-1:123456789012:certificate/x');
        const secret = secretsmanager.Secret.fromSecretNameV2(s, 'S', 'dags');
        return {
          image: AirflowImage.official(AirflowVersion.of(c.version)),
          cpuArchitecture: c.x86 ? ecs.CpuArchitecture.X86_64 : ecs.CpuArchitecture.ARM64,
          scheduler: { cpu: c.scheduler[0], memoryLimitMiB: c.scheduler[1] },
          workers: {
            cpu: c.worker[0],
            memoryLimitMiB: c.worker[1],
            concurrency: c.concurrency,
            minCapacity: c.minCapacity,
            maxCapacity: c.minCapacity + c.extraWorkers + 1,
            spot: c.spot,
            scaleInCooldown: Duration.minutes(c.cooldownMinutes),
          },
          webAccess: {
            'internal': WebAccess.internalLoadBalancer(),
            'internal-https': WebAccess.internalLoadBalancer({ certificate: cert }),
            'public-https': WebAccess.publicHttps({ certificate: cert }),
            'public-https-restricted': WebAccess.publicHttps({ certificate: cert, allowedCidrs: ['198.51.100.0/24'] }),
          }[c.access],
          dags: {
            'image': DagSource.fromImage(),
            'git-https': DagSource.gitSync({ repository: 'https://github.com/acme/dags.git', credentials: GitCredentials.httpsToken({ secret }) }),
            'git-ssh': DagSource.gitSync({ repository: 'ssh://git@github.com/acme/dags.git', credentials: GitCredentials.sshKey({ secret, knownHosts: KNOWN_HOSTS }) }),
          }[c.dags],
        };
      }, { database: { multiAz: c.multiAz }, broker: { replicas: c.replicas } });
      expect(nagFindings(app)).toEqual([]);
    }), { numRuns: 12, seed: 20261128 });
  });
});
