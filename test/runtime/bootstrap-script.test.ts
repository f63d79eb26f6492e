/**
 * The migration task's script, taken from the synthesized task definition and run by a real
 * bash, with a stand-in `airflow` executable that records its arguments and fails on demand.
 * Proves the control flow: migrate first, create the admin once, succeed when it already exists,
 * fail the deployment on any real failure, and pass the password through unaltered.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs } from '../../src';
import { envOf, taskDefinitions } from '../util';

const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow', { adminUsername: 'ops.admin' });
const migrate = taskDefinitions(Template.fromStack(stack)).migrate.containers[0];
const [shell, flag, script] = migrate.Command!;
const PASSWORD = 'pa$$ "w\'ord" `x` $(id) ; && äÖ 漢';

interface Outcome { status: number | null; calls: string[][]; stdout: string; stderr: string }

function run(stub: { migrateExit?: number; createExit?: number; existingUsers?: string[] }): Outcome {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-bootstrap-'));
  const calls = path.join(dir, 'calls.jsonl');
  // A stand-in for the airflow CLI: records argv as JSON, then behaves as configured.
  fs.writeFileSync(path.join(dir, 'airflow'), `#!/usr/bin/python3
import json, os, sys
with open(${JSON.stringify(calls)}, 'a') as f:
    f.write(json.dumps(sys.argv[1:]) + '\\n')
args = sys.argv[1:]
if args[:2] == ['db', 'migrate']:
    sys.exit(int(os.environ.get('STUB_MIGRATE_EXIT', '0')))
if args[:2] == ['users', 'create']:
    sys.exit(int(os.environ.get('STUB_CREATE_EXIT', '0')))
if args[:2] == ['users', 'export']:
    users = [{'username': u, 'email': u + '@example.com'} for u in json.loads(os.environ.get('STUB_USERS', '[]'))]
    with open(args[2], 'w') as f:
        json.dump(users, f)
    sys.exit(0)
sys.exit(99)
`, { mode: 0o755 });
  const env = Object.fromEntries((migrate.Environment ?? []).filter(e => typeof e.Value === 'string').map(e => [e.Name, e.Value as string]));
  const r = spawnSync(shell, [flag, script], {
    encoding: 'utf8',
    env: {
      ...env,
      CDK_AIRFLOW_ADMIN_PASSWORD: PASSWORD,
      PATH: `${dir}:/usr/bin:/bin`,
      STUB_MIGRATE_EXIT: `${stub.migrateExit ?? 0}`,
      STUB_CREATE_EXIT: `${stub.createExit ?? 0}`,
      STUB_USERS: JSON.stringify(stub.existingUsers ?? []),
    },
  });
  const recorded = fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean).map(l => JSON.parse(l)) : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, calls: recorded, stdout: r.stdout, stderr: r.stderr };
}

test('the task runs the script with bash and gets the admin settings', () => {
  expect([shell, flag]).toEqual(['bash', '-c']);
  expect(envOf(migrate).CDK_AIRFLOW_ADMIN_USERNAME).toBe('ops.admin');
  expect((migrate.Secrets ?? []).map(s => s.Name)).toContain('CDK_AIRFLOW_ADMIN_PASSWORD');
});

// pitfall #27: Auth not working
test('first deployment: migrates, then creates the admin with the password unaltered', () => {
  const r = run({});
  expect(r.status).toBe(0);
  expect(r.calls[0]).toEqual(['db', 'migrate']);
  expect(r.calls[1].slice(0, 2)).toEqual(['users', 'create']);
  const args = r.calls[1];
  expect(args[args.indexOf('--username') + 1]).toBe('ops.admin');
  expect(args[args.indexOf('--password') + 1]).toBe(PASSWORD);
  expect(args[args.indexOf('--role') + 1]).toBe('Admin');
  expect(r.calls).toHaveLength(2);
});

test('later deployments: the admin exists, so a failing create still succeeds', () => {
  const r = run({ createExit: 1, existingUsers: ['someone', 'ops.admin'] });
  expect(r.status).toBe(0);
  expect(r.calls.map(c => c.slice(0, 2))).toEqual([['db', 'migrate'], ['users', 'create'], ['users', 'export']]);
  expect(r.stdout).toContain('already exists');
});

test('create fails and the admin is not there: the deployment fails', () => {
  const r = run({ createExit: 1, existingUsers: ['someone'] });
  expect(r.status).not.toBe(0);
});

test('a failed migration fails at once, before any user is touched', () => {
  const r = run({ migrateExit: 3 });
  expect(r.status).toBe(3);
  expect(r.calls).toEqual([['db', 'migrate']]);
});
