/**
 * The deploy-ready integ tests (integ.basic.ts, integ.git-sync.ts), verified offline: integ-runner
 * synthesizes each app and compares its templates with the committed snapshot, with no AWS
 * credentials (a plain `integ-runner` run deploys nothing: only `--update-on-failed` or `--force`
 * deploy). A snapshot that drifts fails here; refresh them on purpose with
 * `npx integ-runner --directory test/integ --language typescript --update-on-failed --dry-run`.
 * Then what the committed snapshots deploy: the probe in the VPC, the load balancer it calls, the
 * two assertions, storage the integ run can delete.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { INTEG_DAG_ID, INTEG_RUN_ID } from './airflow-assertions';
import { AirflowVersion } from '../../src';

const ROOT = path.join(__dirname, '..', '..');
const INTEG_DIR = __dirname;

/** Runs integ-runner with the given arguments and no AWS credentials; returns its exit code and output. */
export function integRunner(args: string[]): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'integ-runner'), [
    '--directory', INTEG_DIR, '--language', 'typescript', ...args,
  ], {
    cwd: ROOT,
    env: {
      ...env,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      // type-checking is `tsc -p tsconfig.dev.json`'s job; transpiling alone halves the runner's time
      TS_NODE_TRANSPILE_ONLY: '1',
      JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20',
      FORCE_COLOR: '0',
    },
    encoding: 'utf8',
    timeout: 400_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

function template(name: string, stack: string): any {
  return JSON.parse(fs.readFileSync(path.join(INTEG_DIR, `${name}.ts.snapshot`, `${stack}.template.json`), 'utf8'));
}

function resourcesOfType(t: any, type: string): [string, any][] {
  return Object.entries<any>(t.Resources).filter(([, r]) => r.Type === type);
}

test('integ-runner finds both integ tests and their snapshots match what the apps synthesize, offline', () => {
  const { status, output } = integRunner([]);
  expect(output).toMatch(/UNCHANGED\s+integ\.basic\b/);
  expect(output).toMatch(/UNCHANGED\s+integ\.git-sync\b/);
  expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
  expect(output).not.toMatch(/Running integration tests/);
  expect(status).toBe(0);
}, 420_000);

describe.each([
  ['integ.basic', 'AirflowStorage', 'AirflowServices', 'IntegBasicAssertions'],
  ['integ.git-sync', 'AirflowGitSyncStorage', 'AirflowGitSyncServices', 'IntegGitSyncAssertions'],
])('%s, as committed', (name, storageStack, servicesStack, assertionStack) => {
  const manifest = () => JSON.parse(fs.readFileSync(path.join(INTEG_DIR, `${name}.ts.snapshot`, 'integ.json'), 'utf8'));

  test('deploys the example\'s two stacks, under names of their own, and the assertion stack', () => {
    const cases = Object.values<any>(manifest().testCases);
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ stacks: [storageStack, servicesStack], assertionStack, stackUpdateWorkflow: false });
    const assembly = JSON.parse(fs.readFileSync(path.join(INTEG_DIR, `${name}.ts.snapshot`, 'manifest.json'), 'utf8'));
    for (const id of [storageStack, servicesStack]) {
      expect(assembly.artifacts[id].properties.stackName).toBe(`Integ${id}`);
    }
  });

  test('the probe runs in the VPC\'s private subnets and reads the admin password', () => {
    const t = template(name, assertionStack);
    const [[, probe]] = resourcesOfType(t, 'AWS::Lambda::Function').filter(([, r]) => r.Properties.Handler === 'index.handler'
      && r.Properties.Environment?.Variables?.AIRFLOW_URL);
    expect(probe.Properties.VpcConfig.SubnetIds).toHaveLength(2);
    for (const subnet of probe.Properties.VpcConfig.SubnetIds) {
      expect(subnet['Fn::ImportValue']).toMatch(new RegExp(`^Integ${storageStack}:.*PrivateSubnet`));
    }
    const env = probe.Properties.Environment.Variables;
    expect(JSON.stringify(env.AIRFLOW_URL)).toMatch(new RegExp(`Integ${servicesStack}:.*LoadBalancer.*DNSName`));
    expect(env.ADMIN_USERNAME).toBe('admin');
    expect(env.ADMIN_PASSWORD_SECRET_ARN['Fn::ImportValue']).toMatch(/AdminPassword/);
    const grants = resourcesOfType(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(grants).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['secretsmanager:GetSecretValue']),
      Resource: env.ADMIN_PASSWORD_SECRET_ARN,
    }));
  });

  test('the load balancer the probe calls is internal and admits the VPC range it runs in', () => {
    const t = template(name, servicesStack);
    const [[, lb]] = resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(lb.Properties.Scheme).toBe('internal');
    const [[, sg]] = resourcesOfType(t, 'AWS::EC2::SecurityGroup').filter(([, r]) => /load balancer/i.test(r.Properties.GroupDescription));
    expect(sg.Properties.SecurityGroupIngress).toEqual([expect.objectContaining({ FromPort: 80, ToPort: 80, CidrIp: expect.anything() })]);
    expect(JSON.stringify(sg.Properties.SecurityGroupIngress[0].CidrIp)).toMatch(/CidrBlock/);
  });

  test('asserts the health endpoint first, then a successful run of the integ DAG, both polled', () => {
    const t = template(name, assertionStack);
    const calls = resourcesOfType(t, 'Custom::DeployAssert@SdkCallLambdainvoke');
    expect(calls).toHaveLength(2);
    const payload = (r: any) => JSON.parse(r.Properties.parameters.Payload.replace(/^"|"$/g, '').replace(/\\"/g, '"'));
    const [health] = calls.filter(([, r]) => payload(r).action === 'health');
    const [run] = calls.filter(([, r]) => payload(r).action === 'runDag');
    expect(payload(run[1])).toEqual({ action: 'runDag', dagId: INTEG_DAG_ID, runId: INTEG_RUN_ID });
    expect(run[1].DependsOn).toContain(health[0]);
    // waitForAssertions: each call has a waiter state machine, and the expectations travel with it
    expect(health[1].Properties.stateMachineArn).toBeDefined();
    expect(run[1].Properties.stateMachineArn).toBeDefined();
    expect(health[1].Properties.expected).toMatch(/metadatabase.*healthy.*scheduler.*healthy.*triggerer.*healthy.*dag_processor.*healthy/);
    expect(run[1].Properties.expected).toContain('"state":"success"');
  });

  test('the storage can be deleted by the integ run: no deletion protection, no final snapshot, secrets deleted', () => {
    const t = template(name, storageStack);
    const [[, db]] = resourcesOfType(t, 'AWS::RDS::DBInstance');
    expect(db.Properties.DeletionProtection).toBe(false);
    expect(db.DeletionPolicy).toBe('Delete');
    for (const [, secret] of resourcesOfType(t, 'AWS::SecretsManager::Secret')) expect(secret.DeletionPolicy).toBe('Delete');
  });
});

test(`the DAG the assertions run is ${INTEG_DAG_ID}, in the folder the image and git-sync deliver`, () => {
  const dags = path.join(INTEG_DIR, 'dags');
  expect(fs.readFileSync(path.join(dags, 'smoke.py'), 'utf8')).toContain(`"${INTEG_DAG_ID}"`);
  const dockerfile = fs.readFileSync(path.join(dags, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^COPY .*smoke\.py \/opt\/airflow\/dags\/$/m);
  // the basic app's image follows the newest release, as the example's official image does
  expect(dockerfile).toMatch(new RegExp(`^FROM apache/airflow:${AirflowVersion.latest().version.replace(/\./g, '\\.')}$`, 'm'));
  const gitSync = template('integ.git-sync', 'AirflowGitSyncServices');
  expect(JSON.stringify(gitSync)).toContain('test/integ/dags');
});
