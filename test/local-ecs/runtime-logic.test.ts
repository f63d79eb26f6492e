/**
 * The local ECS runtime's own logic, without root: the secret generator, the assembly "deployed on
 * paper" (intrinsics, exports, dynamic references, ECS secret references), the security-group
 * model and the load balancer's matcher. The runtime itself runs in `npm run e2e`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Deployment, parseSecretValueFrom } from './assembly';
import { effectiveImageName, OFFICIAL_AIRFLOW } from './images';
import { matches } from './load-balancer';
import { cidrContains, Network, securityGroups } from './network';
import { generateSecretString, PUNCTUATION } from './secret-generator';
import { createApp } from '../../examples/basic/app';

describe('the secret generator (GenerateSecretString)', () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };

  test('32 characters of every class by default, one of each required', () => {
    for (let i = 0; i < 50; i++) {
      const v = generateSecretString({}, random);
      expect(v).toHaveLength(32);
      expect(v).toMatch(/[a-z]/);
      expect(v).toMatch(/[A-Z]/);
      expect(v).toMatch(/[0-9]/);
      expect([...v].some(c => PUNCTUATION.includes(c))).toBe(true);
    }
  });

  test('excluded classes and characters never appear', () => {
    const excluded = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';
    for (let i = 0; i < 50; i++) {
      const v = generateSecretString({ PasswordLength: 30, ExcludeCharacters: excluded }, random);
      expect([...v].filter(c => excluded.includes(c))).toEqual([]);
      expect(generateSecretString({ PasswordLength: 43, ExcludePunctuation: true }, random)).toMatch(/^[A-Za-z0-9]{43}$/);
    }
  });

  test('a JSON template gets the password under its key', () => {
    const v = JSON.parse(generateSecretString({ SecretStringTemplate: '{"username":"airflow"}', GenerateStringKey: 'password', PasswordLength: 12 }, random));
    expect(v.username).toBe('airflow');
    expect(v.password).toHaveLength(12);
  });
});

describe('the example app, deployed on paper', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-ecs-assembly-'));
  createApp(new App({ outdir })).synth();
  const d = Deployment.load(outdir);
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  const container = (name: string) => {
    for (const td of d.resources('AWS::ECS::TaskDefinition')) {
      const p = d.resolve(td.stack, td.resource.Properties);
      const c = p.ContainerDefinitions.find((x: any) => x.Name === name);
      if (c) return c;
    }
    throw new Error(`no container ${name}`);
  };

  test('the images are ECR copies, which run as the official image they copy: its Airflow and Python versions from the upstream tag', () => {
    const image = container('scheduler').Image as string;
    const services = d.resources('AWS::ECS::TaskDefinition')[0].stack;
    expect(image).toMatch(new RegExp(`^${services.account}\\.dkr\\.ecr\\.${services.region}\\.amazonaws\\.com/[a-z0-9-]+:\\d+\\.\\d+\\.\\d+$`));
    const copies = d.imageCopies();
    expect(copies[image]).toMatch(/^apache\/airflow:\d+\.\d+\.\d+$/);
    const runs = effectiveImageName(image, { copies });
    expect(OFFICIAL_AIRFLOW.exec(runs)?.[1]).toBe(image.split(':').pop());
    // every container of every task runs a copy the deployment makes
    for (const td of d.resources('AWS::ECS::TaskDefinition')) {
      for (const c of d.resolve(td.stack, td.resource.Properties).ContainerDefinitions) expect(copies[c.Image]).toBeDefined();
    }
  });

  test('a python variant\'s copy keeps its Python version; an --image alias still applies to the copy', () => {
    const copies = { '1.dkr.ecr.eu-west-1.amazonaws.com/r:3.3.2-python3.13': 'apache/airflow:3.3.2-python3.13' };
    const m = OFFICIAL_AIRFLOW.exec(effectiveImageName('1.dkr.ecr.eu-west-1.amazonaws.com/r:3.3.2-python3.13', { copies }))!;
    expect([m[1], m[2]]).toEqual(['3.3.2', '3.13']);
    expect(effectiveImageName('1.dkr.ecr.eu-west-1.amazonaws.com/r:3.3.2-python3.13', { copies, aliases: { 'apache/airflow:3.3.2-python3.13': 'apache/airflow:3.3.1' } }))
      .toBe('apache/airflow:3.3.1');
    expect(effectiveImageName('acme/own:1', { copies })).toBe('acme/own:1');
  });

  test('the services stack imports the storage stack\'s database host name', () => {
    const env = Object.fromEntries(container('scheduler').Environment.map((e: any) => [e.Name, e.Value]));
    const db = d.resources('AWS::RDS::DBInstance')[0];
    expect(env.CDK_AIRFLOW_DB_HOST).toBe(d.attribute(db.stack, db.logicalId, 'Endpoint.Address'));
    expect(env.CDK_AIRFLOW_DB_HOST).toMatch(/\.rds\.amazonaws\.com$/);
  });

  test('the database\'s master password (a dynamic reference) is the password the containers read (an ECS secret key)', () => {
    const db = d.resources('AWS::RDS::DBInstance')[0];
    const master = d.resolve(db.stack, db.resource.Properties);
    const secret = container('scheduler').Secrets.find((s: any) => s.Name === 'CDK_AIRFLOW_DB_PASSWORD');
    const { secretId, jsonKey } = parseSecretValueFrom(secret.ValueFrom);
    expect(jsonKey).toBe('password');
    expect(master.MasterUserPassword).toBe(d.secretValue(secretId, jsonKey));
    expect(master.MasterUserPassword).toHaveLength(30);
    expect(master.MasterUsername).toBe('airflow');
  });

  test('the secrets follow their templates: the Fernet key 43 letters and digits, the broker token without punctuation', () => {
    const fernet = container('scheduler').Secrets.find((s: any) => s.Name === 'CDK_AIRFLOW_FERNET_KEY');
    expect(d.secretValue(parseSecretValueFrom(fernet.ValueFrom).secretId)).toMatch(/^[A-Za-z0-9]{43}$/);
    const broker = d.resources('AWS::ElastiCache::ReplicationGroup')[0];
    expect(d.resolve(broker.stack, broker.resource.Properties).AuthToken).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  test('an imported secret needs its value, and says how to give it', () => {
    expect(() => d.secretValue('arn:aws:secretsmanager:us-east-1:123456789012:secret:team/token')).toThrow(/secret 'team\/token' is not created by the assembly; give its value with --secret 'team\/token=<value>'/);
  });

  test('security groups: the database admits each component on 5432, the broker only the scheduler and the workers', () => {
    const groups = securityGroups(d);
    const db = d.resources('AWS::RDS::DBInstance')[0];
    const [dbGroup] = d.resolve(db.stack, db.resource.Properties).VPCSecurityGroups;
    const byDescription = (text: string) => [...groups.values()].find(g => g.description.includes(text))!.id;
    const dbSources = groups.get(dbGroup)!.ingress.filter(r => r.fromPort === 5432).map(r => r.group);
    for (const component of ['api-server', 'scheduler', 'dag-processor', 'triggerer', 'celery-worker']) {
      expect(dbSources).toContain(byDescription(`Airflow ${component} tasks`));
    }
    const broker = d.resources('AWS::ElastiCache::ReplicationGroup')[0];
    const [brokerGroup] = d.resolve(broker.stack, broker.resource.Properties).SecurityGroupIds;
    expect(groups.get(brokerGroup)!.ingress.map(r => r.group).sort()).toEqual([byDescription('Airflow scheduler tasks'), byDescription('Airflow celery-worker tasks')].sort());
    // the database opens no connection: its only egress rule matches nothing
    expect(groups.get(dbGroup)!.egress.every(r => r.cidr === '255.255.255.255/32')).toBe(true);
  });

  test('the nftables rules of the database admit only the members of the allowed groups', () => {
    const groups = securityGroups(d);
    const db = d.resources('AWS::RDS::DBInstance')[0];
    const [dbGroup] = d.resolve(db.stack, db.resource.Properties).VPCSecurityGroups;
    const scheduler = [...groups.values()].find(g => g.description.includes('Airflow scheduler tasks'))!.id;
    const network = new Network('t', '10.0.0.0/16', groups);
    (network as any).endpoints.set('db', { name: 'db', namespace: 'tdb', ip: '10.0.48.4', securityGroups: [dbGroup], hostSide: 'tv1' });
    (network as any).endpoints.set('s', { name: 's', namespace: 'ts', ip: '10.0.16.5', securityGroups: [scheduler], hostSide: 'tv2' });
    const rules = network.ruleset((network as any).endpoints.get('db'));
    expect(rules).toContain('ip saddr { 10.0.16.5 } meta l4proto tcp th dport 5432 accept');
    expect(rules).toMatch(/chain input \{\n {4}type filter hook input priority 0; policy drop;/);
    expect(rules).not.toMatch(/chain output[\s\S]*ip daddr 10\./);
    expect(cidrContains('10.0.16.0/20', '10.0.31.255')).toBe(true);
    expect(cidrContains('10.0.16.0/20', '10.0.32.0')).toBe(false);
  });
});

describe('the load balancer', () => {
  test.each([['200', 200, true], ['200', 302, false], ['200,202', 202, true], ['200-299', 204, true], ['200-299', 301, false]] as const)(
    'matcher %s and status %d: %s', (matcher, status, expected) => {
      expect(matches(matcher, status)).toBe(expected);
    });
});
