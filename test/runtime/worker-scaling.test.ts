/**
 * The worker-scaling program, as synthesized into the scheduler's `queue-metrics` sidecar and the
 * workers' `scale-in-protection` sidecar, run for real: its math table-tested in Python, its
 * queries against a real PostgreSQL holding Airflow 3.1's task_instance table, its CloudWatch
 * calls made by real botocore to a local endpoint, its ECS agent calls to a local agent.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs } from '../../src';
import { ContainerDef, envOf, publishedPools, taskDefinitions } from '../util';
import { PYTHON } from './requirements';
import { fakeCloudWatch, freePort, RunningPostgres, startPostgres } from './services';

const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow', {
  workers: { concurrency: 4 },
  workerPools: { heavy: { queues: ['heavy', 'gpu'], concurrency: 2, cpu: 2048, memoryLimitMiB: 8192, maxCapacity: 3 } },
});
const tds = taskDefinitions(Template.fromStack(stack));
const publisher = tds.scheduler.containers.find(c => c.Name === 'queue-metrics')! as ContainerDef & { EntryPoint: string[] };
const protector = tds['celery-worker'].containers.find(c => c.Name === 'scale-in-protection')! as ContainerDef & { EntryPoint: string[] };
const ROLE = { name: 'airflow', password: 'p@ss word/%', database: 'airflow' };

let dir: string;
let sourceFile: string;
let pg: RunningPostgres;

function harness(job: string, args: string[], env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  return spawnSync(PYTHON, [path.join(__dirname, 'worker_scaling_harness.py'), sourceFile, job, ...args], {
    encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
  });
}

/** The sidecar's environment from the template, with deploy-time values made local. */
function sidecarEnv(c: ContainerDef, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envOf(c))) env[k] = typeof v === 'string' ? v : '';
  return {
    ...env,
    CDK_AIRFLOW_DB_HOST: '127.0.0.1',
    CDK_AIRFLOW_DB_PORT: `${pg.port}`,
    CDK_AIRFLOW_DB_USERNAME: ROLE.name,
    CDK_AIRFLOW_DB_PASSWORD: ROLE.password,
    ...extra,
  };
}

function psql(sql: string): void {
  const r = spawnSync(PYTHON, ['-c', [
    'import os, sqlalchemy',
    "e = sqlalchemy.create_engine(os.environ['URL'])",
    'with e.begin() as c:',
    "    c.execute(sqlalchemy.text(os.environ['SQL']))",
  ].join('\n')], { encoding: 'utf8', env: { URL: `postgresql+psycopg2://${ROLE.name}:${encodeURIComponent(ROLE.password)}@127.0.0.1:${pg.port}/airflow?sslmode=require`, SQL: sql } });
  if (r.status !== 0) throw new Error(r.stderr);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-scaling-'));
  expect(publisher.EntryPoint).toEqual(['python3', '-c']);
  expect(publisher.Command![1]).toBe('publish');
  expect(protector.Command![1]).toBe('protect');
  expect(protector.Command![0]).toBe(publisher.Command![0]);
  sourceFile = path.join(dir, 'airflow_worker_scaling.py');
  fs.writeFileSync(sourceFile, publisher.Command![0]);
  pg = await startPostgres([ROLE]);
  // The columns of Airflow 3.1's task_instance that the program reads (and its key).
  psql(`CREATE TABLE task_instance (
    id UUID PRIMARY KEY, task_id VARCHAR(250) NOT NULL, dag_id VARCHAR(250) NOT NULL, run_id VARCHAR(250) NOT NULL,
    map_index INTEGER NOT NULL DEFAULT -1, state VARCHAR(20), queue VARCHAR(256), hostname VARCHAR(1000), executor VARCHAR(1000),
    pool VARCHAR(256) NOT NULL DEFAULT 'default_pool', try_number INTEGER DEFAULT 0)`);
});

afterAll(() => {
  pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function insertTasks(rows: [state: string, queue: string, hostname: string | null, count: number][]): void {
  psql('DELETE FROM task_instance');
  const values: string[] = [];
  let n = 0;
  for (const [state, queue, hostname, count] of rows) {
    for (let i = 0; i < count; i++) {
      n++;
      values.push(`('00000000-0000-0000-0000-${String(n).padStart(12, '0')}', 't${n}', 'dag', 'run', -1, '${state}', '${queue}', ${hostname ? `'${hostname}'` : 'NULL'})`);
    }
  }
  if (values.length) psql(`INSERT INTO task_instance (id, task_id, dag_id, run_id, map_index, state, queue, hostname) VALUES ${values.join(',')}`);
}

describe('the math', () => {
  test.each([
    // queued, running, concurrency, min, max -> desired
    [0, 0, 8, 0, 10, 0],
    [1, 0, 8, 0, 10, 1],
    [0, 1, 8, 0, 10, 1],
    [8, 0, 8, 0, 10, 1],
    [9, 0, 8, 0, 10, 2],
    [5, 4, 8, 0, 10, 2],
    [100, 60, 16, 0, 10, 10],
    [161, 0, 16, 0, 10, 10], // would need 11: bounded by max
    [161, 0, 16, 0, 20, 11],
    [0, 0, 8, 2, 10, 2], // idle: bounded by min
    [3, 0, 1, 0, 10, 3],
    [800, 0, 8, 1, 1, 1], // a fixed fleet
  ])('queued %i + running %i at concurrency %i within %i..%i needs %i workers', (queued, running, concurrency, min, max, desired) => {
    const r = harness('desired', [JSON.stringify([[queued, running, concurrency, min, max]])]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([desired]);
  });

  test('scale-out is immediate; scale-in waits until the need has been lower for the cooldown', () => {
    // cooldown 300 s: a need is held until 300 s after it was last seen
    const samples = [[0, 0], [30, 5], [60, 2], [90, 2], [329, 2], [330, 2], [359, 1], [390, 1], [689, 0], [690, 0]];
    const r = harness('hold', ['300', JSON.stringify(samples)]);
    expect(JSON.parse(r.stdout)).toEqual([0, 5, 5, 5, 5, 2, 2, 2, 1, 0]);
  });
});

describe('the queue-metrics publisher', () => {
  // pitfall #51: Workers scaled 1–10 on CPU/memory
  test('counts queued and running tasks per pool\'s queues in PostgreSQL and publishes them with botocore', async () => {
    insertTasks([
      ['queued', 'default', null, 7],
      ['running', 'default', '10.0.1.5', 6],
      ['running', 'gpu', '10.0.9.9', 3], // the heavy pool's
      ['queued', 'heavy', null, 1], // the heavy pool's
      ['queued', 'reports', null, 9], // no pool's queue: nobody scales for it
      ['scheduled', 'default', null, 20], // not yet sent to Celery
      ['deferred', 'default', null, 4], // waiting in the triggerer
      ['success', 'default', '10.0.1.5', 50],
    ]);
    const { port, requests, close } = await fakeCloudWatch();
    try {
      const pools = publishedPools(publisher);
      expect(pools.map(p => p.queues)).toEqual([['default'], ['heavy', 'gpu']]);
      const env = sidecarEnv(publisher, {
        // the cluster's name, as CloudFormation would resolve it
        CDK_AIRFLOW_SCALING_POOLS: JSON.stringify(pools).replace(/<token>/g, 'airflow'),
        AWS_ENDPOINT_URL_CLOUDWATCH: `http://127.0.0.1:${port}`,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'eu-west-1',
      });
      const r = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const child = spawn(PYTHON, [path.join(__dirname, 'worker_scaling_harness.py'), sourceFile, 'publish', '2'], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => stdout += d);
        child.on('exit', (status: number | null) => resolve({ status, stdout }));
      });
      expect(r.status).toBe(0);
      const logs = r.stdout.trim().split('\n').map(l => JSON.parse(l));
      expect(logs.map(l => [l.msg, l.pool.WorkerService, l.queued, l.running, l.need, l.desired])).toEqual([
        ['published', pools[0].dimensions.WorkerService, 7, 6, 4, 4], // ceil(13 / 4)
        ['published', pools[1].dimensions.WorkerService, 1, 3, 2, 2], // ceil(4 / 2)
        ['published', pools[0].dimensions.WorkerService, 7, 6, 4, 4],
        ['published', pools[1].dimensions.WorkerService, 1, 3, 2, 2],
      ]);
      // one PutMetricData per round, with every pool's values
      expect(requests).toHaveLength(2);
      const form = requests[0];
      expect(form.get('Action')).toBe('PutMetricData');
      expect(form.get('Namespace')).toBe('CdkAirflowEcs/Workers');
      const metrics: Record<string, string> = {};
      for (let i = 1; form.get(`MetricData.member.${i}.MetricName`); i++) {
        expect(form.get(`MetricData.member.${i}.Dimensions.member.1.Name`)).toBe('ClusterName');
        expect(form.get(`MetricData.member.${i}.Dimensions.member.1.Value`)).toBe('airflow');
        const service = form.get(`MetricData.member.${i}.Dimensions.member.2.Value`)!;
        metrics[`${service === pools[0].dimensions.WorkerService ? 'workers' : 'heavy'} ${form.get(`MetricData.member.${i}.MetricName`)}`] = form.get(`MetricData.member.${i}.Value`)!;
      }
      expect(metrics).toEqual({
        'workers QueuedTasks': '7.0',
        'workers RunningTasks': '6.0',
        'workers DesiredWorkers': '4.0',
        'heavy QueuedTasks': '1.0',
        'heavy RunningTasks': '3.0',
        'heavy DesiredWorkers': '2.0',
      });
    } finally {
      await close();
    }
  });
});

describe('the heartbeat ages', () => {
  test('seconds since the freshest running job of each long-running component, published with the cluster and component', async () => {
    // the columns of Airflow's job table that the program reads
    psql(`CREATE TABLE IF NOT EXISTS job (id SERIAL PRIMARY KEY, state VARCHAR(20), job_type VARCHAR(30), latest_heartbeat TIMESTAMP WITH TIME ZONE);
      DELETE FROM job;
      INSERT INTO job (state, job_type, latest_heartbeat) VALUES
        ('running', 'SchedulerJob', now() - interval '7 seconds'),
        ('running', 'SchedulerJob', now() - interval '300 seconds'),
        ('success', 'SchedulerJob', now()),
        ('running', 'TriggererJob', now() - interval '20 seconds'),
        ('success', 'DagProcessorJob', now()),
        ('running', 'LocalTaskJob', now())`);
    const { port, requests: bodies, close } = await fakeCloudWatch();
    try {
      // the template's value, with the cluster's name as CloudFormation resolves it
      const heartbeats = (publisher as any).Environment.find((e: any) => e.Name === 'CDK_AIRFLOW_HEARTBEATS').Value;
      const resolved = heartbeats['Fn::Join'][1].map((part: any) => typeof part === 'string' ? part : 'airflow').join('');
      const env = sidecarEnv(publisher, {
        CDK_AIRFLOW_SCALING_POOLS: JSON.stringify(publishedPools(publisher)).replace(/<token>/g, 'airflow'),
        CDK_AIRFLOW_HEARTBEATS: resolved,
        AWS_ENDPOINT_URL_CLOUDWATCH: `http://127.0.0.1:${port}`,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'eu-west-1',
      });
      const status = await new Promise<number | null>((resolve) => {
        const child = spawn(PYTHON, [path.join(__dirname, 'worker_scaling_harness.py'), sourceFile, 'publish', '1'], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: 'ignore' });
        child.on('exit', resolve);
      });
      expect(status).toBe(0);
      const heartbeatCall = bodies.find(b => b.get('Namespace') === 'CdkAirflowEcs/Airflow')!;
      expect(heartbeatCall).toBeDefined();
      const ages: Record<string, number> = {};
      for (let i = 1; heartbeatCall.get(`MetricData.member.${i}.MetricName`); i++) {
        expect(heartbeatCall.get(`MetricData.member.${i}.MetricName`)).toBe('HeartbeatAge');
        expect(heartbeatCall.get(`MetricData.member.${i}.Unit`)).toBe('Seconds');
        expect(heartbeatCall.get(`MetricData.member.${i}.Dimensions.member.1.Name`)).toBe('ClusterName');
        expect(heartbeatCall.get(`MetricData.member.${i}.Dimensions.member.1.Value`)).toBe('airflow');
        expect(heartbeatCall.get(`MetricData.member.${i}.Dimensions.member.2.Name`)).toBe('Component');
        ages[heartbeatCall.get(`MetricData.member.${i}.Dimensions.member.2.Value`)!] = Number(heartbeatCall.get(`MetricData.member.${i}.Value`));
      }
      // the freshest running scheduler counts; a dag-processor with no running job reports nothing
      expect(Object.keys(ages).sort()).toEqual(['scheduler', 'triggerer']);
      expect(ages.scheduler).toBeGreaterThanOrEqual(7);
      expect(ages.scheduler).toBeLessThan(30);
      expect(ages.triggerer).toBeGreaterThanOrEqual(20);
      expect(ages.triggerer).toBeLessThan(45);
    } finally {
      await close();
    }
  });
});

describe('the scale-in protector', () => {
  test('protects a worker while tasks run on it, and releases it when idle', async () => {
    const ip = harness('host-ip', []).stdout.trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const bodies: any[] = [];
    const port = await freePort();
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', c => body += c);
      req.on('end', () => {
        expect([req.method, req.url]).toEqual(['PUT', '/task-protection/v1/state']);
        bodies.push(JSON.parse(body));
        res.end(JSON.stringify({ protection: { ProtectionEnabled: JSON.parse(body).ProtectionEnabled } }));
      });
    });
    await new Promise<void>(r => server.listen(port, '127.0.0.1', r));
    const runProtector = () => new Promise<number | null>((resolve) => {
      const env = sidecarEnv(protector, { ECS_AGENT_URI: `http://127.0.0.1:${port}` });
      const child = spawn(PYTHON, [path.join(__dirname, 'worker_scaling_harness.py'), sourceFile, 'protect', '1'], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: 'ignore' });
      child.on('exit', resolve);
    });
    try {
      insertTasks([['running', 'default', ip, 2], ['running', 'default', '10.9.9.9', 5]]);
      expect(await runProtector()).toBe(0);
      insertTasks([['success', 'default', ip, 2], ['running', 'default', '10.9.9.9', 5]]);
      expect(await runProtector()).toBe(0);
      expect(bodies).toEqual([
        { ProtectionEnabled: true, ExpiresInMinutes: 15 },
        { ProtectionEnabled: false },
      ]);
    } finally {
      await new Promise(r => server.close(r));
    }
  });
});

describe('the drain check: is this worker\'s deployment still the primary one?', () => {
  /** The harness, run without blocking this process (which serves the fake endpoints). */
  const drainCheck = (port: number) => new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const child = spawn(PYTHON, [path.join(__dirname, 'worker_scaling_harness.py'), sourceFile, 'replaced', `http://127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${port}/v4/abc` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => stdout += d);
    child.stderr.on('data', (d: Buffer) => stderr += d);
    child.on('exit', () => resolve({ stdout, stderr }));
  });

  /** The task metadata endpoint and the ECS API (awsJson1_1) as ECS answers them, for one task. */
  async function fakeEcs(task: { group: string; startedBy?: string }, deployments: { id: string; status: string }[]) {
    const calls: string[] = [];
    const port = await freePort();
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', c => body += c);
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/v4/abc/task') {
          res.end(JSON.stringify({ Cluster: 'arn:aws:ecs:eu-west-1:1:cluster/airflow', TaskARN: 'arn:aws:ecs:eu-west-1:1:task/airflow/t1' }));
          return;
        }
        const action = String(req.headers['x-amz-target']).split('.').pop()!;
        const request = JSON.parse(body);
        calls.push(`${action} ${JSON.stringify(request)}`);
        res.setHeader('Content-Type', 'application/x-amz-json-1.1');
        if (action === 'DescribeTasks') {
          res.end(JSON.stringify({ tasks: [{ taskArn: request.tasks[0], ...task }], failures: [] }));
        } else if (action === 'DescribeServices') {
          res.end(JSON.stringify({ services: [{ serviceName: request.services[0], deployments }], failures: [] }));
        } else {
          res.statusCode = 400;
          res.end('{}');
        }
      });
    });
    await new Promise<void>(r => server.listen(port, '127.0.0.1', r));
    return { port, calls, close: () => new Promise(r => server.close(r)) };
  }

  test.each([
    ['its deployment is PRIMARY: keep working', 'ecs-svc/2', false],
    ['a newer deployment is PRIMARY: drain', 'ecs-svc/1', true],
  ])('%s', async (_name, startedBy, replaced) => {
    const ecs = await fakeEcs({ group: 'service:workers', startedBy }, [{ id: 'ecs-svc/2', status: 'PRIMARY' }, { id: 'ecs-svc/1', status: 'ACTIVE' }]);
    try {
      const r = await drainCheck(ecs.port);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toBe(replaced);
      expect(ecs.calls).toEqual([
        'DescribeTasks {"cluster":"arn:aws:ecs:eu-west-1:1:cluster/airflow","tasks":["arn:aws:ecs:eu-west-1:1:task/airflow/t1"]}',
        'DescribeServices {"cluster":"arn:aws:ecs:eu-west-1:1:cluster/airflow","services":["workers"]}',
      ]);
    } finally {
      await ecs.close();
    }
  });

  test('a task no service started (run-task) is never drained', async () => {
    const ecs = await fakeEcs({ group: 'family:workers' }, []);
    try {
      const r = await drainCheck(ecs.port);
      expect(JSON.parse(r.stdout)).toBeNull();
      expect(ecs.calls.map(c => c.split(' ')[0])).toEqual(['DescribeTasks']);
    } finally {
      await ecs.close();
    }
  });
});

describe('both sidecars stop on SIGTERM', () => {
  // In a task each sidecar is its container's PID 1, and the kernel drops a signal that PID 1 has no
  // handler for: without one, every task stop waits out the stop timeout before SIGKILL.
  test.each([['publish', publisher], ['protect', protector]] as const)('%s, as PID 1 of its own PID namespace, exits 0 at once', async (job, container) => {
    if (process.getuid?.() !== 0) throw new Error('this test starts a PID namespace: run the suite as root (sudo npm test)');
    const env = sidecarEnv(container, {
      // every round fails (nothing answers there), is logged, and the loop sleeps until the next one
      ECS_AGENT_URI: 'http://127.0.0.1:9',
      CDK_AIRFLOW_DB_PORT: '9',
      CDK_AIRFLOW_SCALING_POOLS: '[]',
      AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:9',
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
    // `python3 -c <code> <job>`, exactly as the container's entry point and command start it
    const child = spawn('unshare', ['--pid', '--fork', PYTHON, '-c', container.Command![0], job], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>(resolve => child.on('exit', resolve));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no round logged within 30 s: ${output}`)), 30_000);
      const onData = (d: Buffer) => {
        output += d;
        if (output.includes('failed')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    // PID 1 of the namespace is unshare's only child
    const pid1 = Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
    const sent = Date.now();
    process.kill(pid1, 'SIGTERM');
    const status = await Promise.race([exited, new Promise<string>(r => setTimeout(() => r('still running after 5 s'), 5000))]);
    if (typeof status === 'string') child.kill('SIGKILL');
    expect(status).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5000);
  });
});
