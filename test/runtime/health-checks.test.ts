/**
 * The container health checks, taken from the synthesized task definitions and run the way ECS
 * runs a CMD-SHELL check: `/bin/sh -c` (dash on Debian, as in the apache/airflow image). The HTTP
 * checks use the real curl against a local server answering like Airflow's; the CLI checks use
 * stand-ins for `airflow` and `celery` that record their arguments.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs } from '../../src';
import { taskDefinitions } from '../util';

const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow');
const tds = taskDefinitions(Template.fromStack(stack));
const check = (name: string) => {
  const hc = tds[name].containers.find(c => c.Name === name)!.HealthCheck!;
  expect(hc.Command[0]).toBe('CMD-SHELL');
  return hc.Command[1];
};

function runShell(command: string, extraPath = ''): { status: number | null; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { PATH: `${extraPath}/usr/bin:/bin`, STUB_LOG: stubLog, STUB_EXIT: process.env.STUB_EXIT ?? '0' }, timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

let stubDir: string;
let stubLog: string;
beforeAll(() => {
  stubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-hc-'));
  stubLog = path.join(stubDir, 'calls.jsonl');
  for (const tool of ['airflow', 'celery']) {
    fs.writeFileSync(path.join(stubDir, tool), `#!/usr/bin/python3
import json, os, sys
with open(os.environ['STUB_LOG'], 'a') as f:
    f.write(json.dumps([${JSON.stringify(tool)}] + sys.argv[1:]) + '\\n')
sys.exit(int(os.environ.get('STUB_EXIT', '0')))
`, { mode: 0o755 });
  }
});
afterAll(() => fs.rmSync(stubDir, { recursive: true, force: true }));

function lastCall(): string[] {
  const lines = fs.readFileSync(stubLog, 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

async function curlStatus(command: string): Promise<number | null> {
  return new Promise(resolve => {
    const child = spawn('/bin/sh', ['-c', command], { env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' });
    child.on('exit', code => resolve(code));
  });
}

async function serve(port: number, routes: Record<string, number>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.statusCode = routes[req.url ?? ''] ?? 404;
    res.end('{}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: any) => reject(new Error(`port ${port} is taken on this machine (${e.code}); the health-check test needs it free`)));
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

// pitfall #42: Load balancer marked starting tasks failed
test('api-server: healthy on 200 from /api/v2/version, unhealthy otherwise', async () => {
  for (const [status, healthy] of [[200, true], [500, false]] as const) {
    const server = await serve(8080, { '/api/v2/version': status });
    try {
      const code = await curlStatus(check('api-server'));
      expect({ status, healthy: code === 0 }).toEqual({ status, healthy });
    } finally {
      await new Promise(r => server.close(r));
    }
  }
  expect(await curlStatus(check('api-server'))).not.toBe(0); // nothing listening
});

// pitfall #33: Health checks disabled to get going (triggerer)
test('scheduler: healthy on 200 from :8974/health, unhealthy on the 503 of a stale scheduler', async () => {
  for (const [status, healthy] of [[200, true], [503, false]] as const) {
    const server = await serve(8974, { '/health': status });
    try {
      const code = await curlStatus(check('scheduler'));
      expect({ status, healthy: code === 0 }).toEqual({ status, healthy });
    } finally {
      await new Promise(r => server.close(r));
    }
  }
});

test.each([
  ['dag-processor', ['airflow', 'jobs', 'check', '--job-type', 'DagProcessorJob', '--local', '--limit', '1']],
  ['triggerer', ['airflow', 'jobs', 'check', '--job-type', 'TriggererJob', '--local', '--limit', '1']],
])('%s: airflow jobs check for this host, and its exit code decides', (name, argv) => {
  process.env.STUB_EXIT = '0';
  expect(runShell(check(name), `${stubDir}:`).status).toBe(0);
  expect(lastCall()).toEqual(argv);
  process.env.STUB_EXIT = '1';
  expect(runShell(check(name), `${stubDir}:`).status).toBe(1);
  delete process.env.STUB_EXIT;
});

test('worker: pings its own Celery node name, celery@<hostname>, in /bin/sh', () => {
  process.env.STUB_EXIT = '0';
  expect(runShell(check('celery-worker'), `${stubDir}:`).status).toBe(0);
  const call = lastCall();
  expect(call.slice(0, 5)).toEqual(['celery', '--app', 'airflow.providers.celery.executors.celery_executor.app', 'inspect', 'ping']);
  expect(call[call.indexOf('-d') + 1]).toBe(`celery@${os.hostname()}`);
  process.env.STUB_EXIT = '69';
  expect(runShell(check('celery-worker'), `${stubDir}:`).status).toBe(69);
  delete process.env.STUB_EXIT;
});
