/**
 * The `airflow-metrics` sidecar, as synthesized, run for real: StatsD lines in over UDP on the
 * loopback interface, PutMetricData out through real botocore to a local CloudWatch endpoint.
 * (The local ECS runtime's metrics scenario shows a running Airflow's own metrics arriving.)
 */
import { ChildProcess, spawn } from 'child_process';
import * as dgram from 'dgram';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs } from '../../src';
import { ContainerDef, envOf, taskDefinitions } from '../util';
import { PYTHON } from './requirements';
import { fakeCloudWatch, freePort } from './services';

const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow');
const tds = taskDefinitions(Template.fromStack(stack));
const sidecar = tds.scheduler.containers.find(c => c.Name === 'airflow-metrics')! as ContainerDef & { EntryPoint: string[] };

interface Datum { name: string; dimensions: Record<string, string>; value?: number; stats?: Record<string, number>; unit?: string }

/** The metric data of one PutMetricData request (query protocol), parsed. */
function parseData(form: URLSearchParams): Datum[] {
  expect(form.get('Action')).toBe('PutMetricData');
  expect(form.get('Namespace')).toBe('CdkAirflowEcs/Airflow');
  const data: Datum[] = [];
  for (let i = 1; form.get(`MetricData.member.${i}.MetricName`); i++) {
    const m = `MetricData.member.${i}`;
    const dimensions: Record<string, string> = {};
    for (let j = 1; form.get(`${m}.Dimensions.member.${j}.Name`); j++) {
      dimensions[form.get(`${m}.Dimensions.member.${j}.Name`)!] = form.get(`${m}.Dimensions.member.${j}.Value`)!;
    }
    const stat = (x: string) => Number(form.get(`${m}.StatisticValues.${x}`));
    data.push({
      name: form.get(`${m}.MetricName`)!,
      dimensions,
      unit: form.get(`${m}.Unit`) ?? undefined,
      ...(form.get(`${m}.Value`) !== null ? { value: Number(form.get(`${m}.Value`)) } : {}),
      ...(form.get(`${m}.StatisticValues.SampleCount`) !== null
        ? { stats: { count: stat('SampleCount'), sum: stat('Sum'), min: stat('Minimum'), max: stat('Maximum') } } : {}),
    });
  }
  return data;
}

let cloudwatch: Awaited<ReturnType<typeof fakeCloudWatch>>;
/** Each request's metric data. */
const requests = () => cloudwatch.requests.map(parseData);
let child: ChildProcess;
let statsdPort: number;
let output = '';

/** Starts the sidecar with its synthesized command and environment, the period made 2 s. */
async function startSidecar(): Promise<void> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envOf(sidecar))) env[k] = typeof v === 'string' ? v : '';
  statsdPort = await freePort();
  child = spawn(PYTHON, [...sidecar.EntryPoint.slice(1), ...sidecar.Command!], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      ...env,
      // the cluster name is a token in the template
      CDK_AIRFLOW_METRICS_DIMENSIONS: JSON.stringify({ ClusterName: 'airflow' }),
      CDK_AIRFLOW_STATSD_PORT: `${statsdPort}`,
      CDK_AIRFLOW_METRICS_PERIOD_SECONDS: '2',
      AWS_ENDPOINT_URL_CLOUDWATCH: `http://127.0.0.1:${cloudwatch.port}`,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'eu-west-1',
    },
  });
  child.stdout!.on('data', (d: Buffer) => output += d);
  child.stderr!.on('data', (d: Buffer) => output += d);
  await waitFor(() => output.includes('"listening"'), 15_000);
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out; sidecar output:\n${output}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

/** Sends StatsD lines in one packet, as Airflow's statsd client does from a pipeline. */
async function send(lines: string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => socket.send(lines.join('\n'), statsdPort, '127.0.0.1', e => e ? reject(e) : resolve()));
  socket.close();
}

beforeAll(async () => {
  expect(sidecar.EntryPoint).toEqual(['python3', '-c']);
  cloudwatch = await fakeCloudWatch();
  await startSidecar();
}, 30_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await cloudwatch?.close();
});

test('a period\'s StatsD lines become one PutMetricData of the published metrics, added up, with the cluster dimension', async () => {
  const before = cloudwatch.requests.length;
  await send([
    'airflow.scheduler_heartbeat:1|c',
    'airflow.scheduler_heartbeat:1|c',
    'airflow.scheduler_heartbeat:1|c',
    'airflow.ti_failures:1|c|@0.5', // sampled: counts twice
    'airflow.executor.open_slots:30|g',
    'airflow.executor.open_slots:28|g',
    'airflow.pool.open_slots.default_pool:128|g',
    'airflow.pool.running_slots.etl_pool:3|g',
    'airflow.scheduler.scheduler_loop_duration:12.5|ms',
    'airflow.scheduler.scheduler_loop_duration:7.5|ms',
    'airflow.dag_processing.total_parse_time:1.25|g',
    // left out: named after DAGs, tasks, files; another prefix; not StatsD
    'airflow.ti.finish.etl.extract.success:1|c',
    'airflow.dag_processing.last_duration.dags.etl_py:88|ms',
    'airflow.dagrun.duration.success.etl:1000|ms',
    'other.scheduler_heartbeat:1|c',
    'garbage',
  ]);
  await waitFor(() => requests().slice(before).some(r => r.some(d => d.name === 'scheduler_heartbeat')), 10_000);
  const data = requests().slice(before).find(r => r.some(d => d.name === 'scheduler_heartbeat'))!;
  const byName = Object.fromEntries(data.map(d => [`${d.name}${d.dimensions.Pool ? `/${d.dimensions.Pool}` : ''}`, d]));
  expect(Object.keys(byName).sort()).toEqual([
    'dag_processing.total_parse_time', 'executor.open_slots', 'pool.open_slots/default_pool', 'pool.running_slots/etl_pool',
    'scheduler.scheduler_loop_duration', 'scheduler_heartbeat', 'ti_failures',
  ]);
  for (const d of data) expect(d.dimensions.ClusterName).toBe('airflow');
  expect(byName.scheduler_heartbeat).toMatchObject({ value: 3, unit: 'Count' });
  expect(byName.ti_failures).toMatchObject({ value: 2, unit: 'Count' });
  expect(byName['executor.open_slots'].stats).toEqual({ count: 2, sum: 58, min: 28, max: 30 });
  expect(byName['pool.open_slots/default_pool']).toMatchObject({ dimensions: { ClusterName: 'airflow', Pool: 'default_pool' }, stats: { max: 128 } });
  expect(byName['scheduler.scheduler_loop_duration']).toMatchObject({ unit: 'Milliseconds', stats: { count: 2, sum: 20, min: 7.5, max: 12.5 } });
});

test('a quiet period publishes the counters seen before as 0 and no gauges', async () => {
  const before = cloudwatch.requests.length;
  await waitFor(() => cloudwatch.requests.length > before + 1, 10_000);
  const quiet = requests()[cloudwatch.requests.length - 1];
  expect(quiet.map(d => [d.name, d.value])).toEqual([['scheduler_heartbeat', 0], ['ti_failures', 0]]);
});

test('SIGTERM publishes what the period has so far and exits at once', async () => {
  const before = cloudwatch.requests.length;
  await send(['airflow.ti_successes:1|c']);
  await new Promise(r => setTimeout(r, 300));
  const started = Date.now();
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(requests().slice(before).flat().filter(d => d.name === 'ti_successes').map(d => d.value)).toEqual([1]);
});
