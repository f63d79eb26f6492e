/**
 * The scenarios `npm run e2e` runs against a deployment started by the local ECS runtime. Each
 * returns a one-line summary of what it measured, or throws with what went wrong.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AirflowClient } from './airflow-client';
import { parseSecretValueFrom } from './assembly';
import { LocalEcs } from './cluster';
import { renderDashboard } from './dashboard';
import { log } from './log';
import { Task, sleep } from './task';

export interface ScenarioContext {
  readonly ecs: LocalEcs;
  readonly client: AirflowClient;
  /** Where screenshots and reports go. */
  readonly outDir: string;
  /** A label for this deployment, used in file names. */
  readonly label: string;
  /** Peak memory (MiB) and CPU seconds per component and phase, filled by the sampler. */
  readonly usage: UsageSampler;
  /**
   * Checks a scenario leaves for later, so that waiting on Airflow (a heartbeat timeout) overlaps
   * the next scenarios; run before the last scenario, each completing its scenario's line.
   */
  readonly followUps: { scenario: Scenario; started: number; check: () => Promise<string> }[];
}

export interface Scenario {
  readonly id: number;
  readonly name: string;
  run(ctx: ScenarioContext): Promise<string>;
}

/** Samples every task's cgroup every few seconds; keeps the peak per component and phase. */
export class UsageSampler {
  public phase = 'idle';
  public readonly peaks = new Map<string, Map<string, { memoryMiB: number; cpuSeconds: number }>>();
  private timer?: NodeJS.Timeout;
  private publishTimer?: NodeJS.Timeout;
  private readonly cpuAtPhaseStart = new Map<string, number>();
  private readonly lastCpu = new Map<string, { at: number; cpuSeconds: number }>();

  constructor(private readonly ecs: LocalEcs) {}

  public start(): void {
    this.timer = setInterval(() => this.sample(), 3000);
    this.publishTimer = setInterval(() => this.publishEcsMetrics(), 60_000);
  }

  /**
   * What ECS publishes for each service once a minute, from the tasks' cgroups: AWS/ECS
   * CPUUtilization and MemoryUtilization (percent of the task size, averaged over the tasks) and
   * Container Insights' RunningTaskCount, so that the dashboard's component widgets show this
   * runtime's numbers.
   */
  public publishEcsMetrics(): void {
    const now = Date.now();
    const data: { cluster: string; service: string; cpu?: number; memory?: number; running: number }[] = [];
    for (const s of this.ecs.services) {
      const td = s.taskDefinition;
      const cpus = Number(td.Cpu) / 1024;
      const memory = Number(td.Memory);
      const samples = s.running.filter(t => t.status === 'RUNNING').map(t => {
        const u = t.usage();
        const last = this.lastCpu.get(t.id);
        if (u) this.lastCpu.set(t.id, { at: now, cpuSeconds: u.cpuSeconds });
        if (!u || !last) return undefined;
        return { cpu: (u.cpuSeconds - last.cpuSeconds) / ((now - last.at) / 1000) / cpus * 100, memory: u.memoryMiB / memory * 100 };
      }).filter((x): x is { cpu: number; memory: number } => x !== undefined);
      const avg = (k: 'cpu' | 'memory') => samples.length ? samples.reduce((sum, x) => sum + x[k], 0) / samples.length : undefined;
      data.push({ cluster: s.ecs.clusterArn(s.ref.stack, s.props.Cluster).split('/').pop()!, service: s.name, cpu: avg('cpu'), memory: avg('memory'), running: s.running.length });
    }
    try {
      this.ecs.moto.python([
        "cw = client('cloudwatch')",
        'for d in args:',
        "    dims = [{'Name': 'ClusterName', 'Value': d['cluster']}, {'Name': 'ServiceName', 'Value': d['service']}]",
        "    values = [('AWS/ECS', 'CPUUtilization', d.get('cpu'), 'Percent'), ('AWS/ECS', 'MemoryUtilization', d.get('memory'), 'Percent'),"
        + " ('ECS/ContainerInsights', 'RunningTaskCount', d['running'], 'Count')]",
        '    for namespace, name, value, unit in values:',
        '        if value is not None:',
        "            cw.put_metric_data(Namespace=namespace, MetricData=[{'MetricName': name, 'Dimensions': dims, 'Value': value, 'Unit': unit}])",
      ].join('\n'), data, this.ecs.deployment.stacks[0].region);
    } catch {
      // the next minute tries again
    }
  }

  public setPhase(phase: string): void {
    this.sample();
    this.phase = phase;
    this.cpuAtPhaseStart.clear();
    for (const s of this.ecs.services) for (const t of s.running) this.cpuAtPhaseStart.set(t.id, t.usage()?.cpuSeconds ?? 0);
  }

  public sample(): void {
    for (const s of this.ecs.services) {
      for (const t of s.running.filter(x => x.status === 'RUNNING')) {
        const u = t.usage();
        if (!u) continue;
        const component = s.shortName;
        const byPhase = this.peaks.get(component) ?? new Map();
        this.peaks.set(component, byPhase);
        const prev = byPhase.get(this.phase) ?? { memoryMiB: 0, cpuSeconds: 0 };
        const cpu = u.cpuSeconds - (this.cpuAtPhaseStart.get(t.id) ?? 0);
        byPhase.set(this.phase, { memoryMiB: Math.max(prev.memoryMiB, u.memoryMiB), cpuSeconds: Math.max(prev.cpuSeconds, cpu) });
      }
    }
  }

  public stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.publishTimer) clearInterval(this.publishTimer);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/**
 * The highest value of each metric of a namespace in the CloudWatch stand-in over the last
 * minutes, keyed by its name (`by: 'MetricName'`) or by one dimension's value; a metric without a
 * datapoint in that time is absent.
 */
function cloudwatchMaxima(ecs: LocalEcs, query: { namespace: string; metricName?: string; by: string; minutes: number }): Record<string, number> {
  return ecs.moto.python([
    'import datetime',
    'now = datetime.datetime.now(datetime.timezone.utc)',
    "cw = client('cloudwatch')",
    "listed = {'Namespace': args['namespace'], **({'MetricName': args['metricName']} if args.get('metricName') else {})}",
    'out = {}',
    "for m in cw.list_metrics(**listed)['Metrics']:",
    "    key = m['MetricName'] if args['by'] == 'MetricName' else [d['Value'] for d in m['Dimensions'] if d['Name'] == args['by']][0]",
    "    r = cw.get_metric_statistics(Namespace=m['Namespace'], MetricName=m['MetricName'], Dimensions=m['Dimensions'],"
    + " StartTime=now - datetime.timedelta(minutes=args['minutes']), EndTime=now, Period=60, Statistics=['Maximum'])",
    "    if r['Datapoints']: out[key] = max([out.get(key, float('-inf'))] + [p['Maximum'] for p in r['Datapoints']])",
    'print(json.dumps(out))',
  ].join('\n'), query, ecs.deployment.stacks[0].region) as Record<string, number>;
}

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && (v as any) !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(everyMs);
  }
}

/** The admin user and password the migration task creates (from its task definition and secret). */
export function adminCredentials(ecs: LocalEcs): { username: string; password: string } {
  const d = ecs.deployment;
  for (const td of d.resources('AWS::ECS::TaskDefinition')) {
    const p = d.resolve(td.stack, td.resource.Properties);
    for (const c of p.ContainerDefinitions) {
      const user = (c.Environment ?? []).find((e: any) => e.Name === 'CDK_AIRFLOW_ADMIN_USERNAME');
      const secret = (c.Secrets ?? []).find((s: any) => s.Name === 'CDK_AIRFLOW_ADMIN_PASSWORD');
      if (user && secret) {
        const { secretId, jsonKey } = parseSecretValueFrom(secret.ValueFrom);
        return { username: user.Value, password: d.secretValue(secretId, jsonKey) };
      }
    }
  }
  throw new Error('the assembly has no migration task with the admin user (CDK_AIRFLOW_ADMIN_USERNAME); the login scenarios need it');
}

// --- 1. cold start ---------------------------------------------------------------------------

export const coldStart: Scenario = {
  id: 1,
  name: 'cold start',
  async run({ ecs }) {
    // the worker started with the service's initial count of 1; keep it while it becomes healthy
    await ecs.waitForServices(12 * 60_000);
    const lines: string[] = [];
    for (const s of ecs.services) {
      const t = s.running.find(x => x.health === 'HEALTHY')!;
      // every component the task runs: two in a compact control plane's dag-processor task
      const checked = t.containers.filter(c => c.def.HealthCheck && c.essential && !c.def.EntryPoint);
      for (const [i, main] of (checked.length > 0 ? checked : [t.containers.find(c => c.def.HealthCheck)!]).entries()) {
        const name = i === 0 ? s.shortName : `${main.name} (in ${s.shortName}'s task)`;
        const became = main.healthyAt;
        const seconds = became ? (became - t.startedAt!) / 1000 : NaN;
        const startPeriod = main.def.HealthCheck?.StartPeriod ?? 0;
        const containerSeconds = became ? (became - main.startedAt!) / 1000 : NaN;
        assert(containerSeconds <= startPeriod + (main.def.HealthCheck?.Interval ?? 30), `${name} became healthy ${containerSeconds.toFixed(0)} s after its container started, beyond its start period of ${startPeriod} s`);
        lines.push(`${name} ${seconds.toFixed(0)} s`);
      }
    }
    const lb = ecs.loadBalancers[0];
    const tg = lb.targetGroups[0];
    await waitUntil('the load balancer sees the api-server target healthy', 3 * 60_000, () => lb.health(tg.arn).some(t => t.state === 'healthy'));
    return `migration ${ecs.migrationSeconds?.toFixed(0)} s; time to HEALTHY per component (task start to health check): ${lines.join(', ')}; load balancer target healthy`;
  },
};

// --- 2. login --------------------------------------------------------------------------------

export const login: Scenario = {
  id: 2,
  name: 'login through the load balancer',
  async run({ ecs, client, outDir, label }) {
    await client.login();
    const dags = await client.api('/api/v2/dags?limit=100');
    const ids = dags.dags.map((d: any) => d.dag_id);
    const wrong = await client.raw('/auth/token', 'POST', { username: adminCredentials(ecs).username, password: 'not-the-password' });
    assert(wrong.status === 401 || wrong.status === 400 || wrong.status === 403, `a wrong password got ${wrong.status}`);
    const shot = path.join(outDir, `dags-${label}.png`);
    const ui = await uiLogin(ecs, shot, ids.find((i: string) => i.startsWith('e2e_')) ?? ids[0]);
    return `REST: token, ${ids.length} DAGs listed (${ids.slice(0, 4).join(', ')}${ids.length > 4 ? ', …' : ''}), a wrong password refused (${wrong.status}); UI: ${ui}; screenshot ${path.relative(process.cwd(), shot)}`;
  },
};

/** The FAB login page to the DAG list in headless Chromium, through the load balancer's DNS name. */
async function uiLogin(ecs: LocalEcs, screenshot: string, expectDag: string | undefined): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core');
  const lb = ecs.loadBalancers[0];
  const listener = lb.listeners.find(l => l.targetGroupArn) ?? lb.listeners[0];
  const scheme = listener.protocol === 'HTTPS' ? 'https' : 'http';
  const { username, password } = adminCredentials(ecs);
  // the address users are sent to ([api] base_url): the load balancer's name or the app's domain
  const baseUrl = new URL(ecs.environmentValue('AIRFLOW__API__BASE_URL') ?? `${scheme}://${lb.dnsName}`);
  const hosts = [...new Set([lb.dnsName, baseUrl.hostname])].map(h => `MAP ${h} ${lb.endpoint.ip}`).join(', ');
  const profile = fs.mkdtempSync('/tmp/local-ecs-chromium-');
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    ignoreHTTPSErrors: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', `--host-resolver-rules=${hosts}`],
  });
  try {
    const page = await browser.newPage();
    const base = `${scheme}://${baseUrl.hostname}${listener.port === (scheme === 'https' ? 443 : 80) ? '' : `:${listener.port}`}`;
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.waitForSelector('input[name="username"]', { timeout: 60_000 });
    const loginUrl = page.url();
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('input[type="submit"], button[type="submit"]')]);
    await page.goto(`${base}/dags`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    if (expectDag) await page.getByText(expectDag).first().waitFor({ timeout: 90_000 });
    await page.waitForTimeout(1500);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot });
    assert(!page.url().includes('/login'), `still on the login page after logging in: ${page.url()}`);
    return `login page ${new URL(loginUrl).pathname} -> DAG list ${new URL(page.url()).pathname}${expectDag ? ` showing ${expectDag}` : ''}`;
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// --- 3. a DAG run end to end -----------------------------------------------------------------

export const dagRun: Scenario = {
  id: 3,
  name: 'a DAG run end to end',
  async run({ ecs, client }) {
    await client.waitForDag('e2e_pipeline', 5 * 60_000);
    await client.api('/api/v2/variables', 'POST', { key: 'e2e_greeting', value: 'hello from the local ECS runtime' }).catch(async () => {
      await client.api('/api/v2/variables/e2e_greeting', 'PATCH', { key: 'e2e_greeting', value: 'hello from the local ECS runtime' });
    });
    const connection = { connection_id: 'e2e_http', conn_type: 'http', host: 'example.com', port: 8443, login: 'e2e', password: 'p@ss w0rd:/%' };
    await client.api('/api/v2/connections', 'POST', connection).catch(async () => client.api('/api/v2/connections/e2e_http', 'PATCH', connection));
    const runId = await client.trigger('e2e_pipeline');
    const workers = ecs.service('celery-worker');
    // the live log, while long_log runs on its worker
    const live = await waitUntil('long_log running with a live log', 12 * 60_000, async () => {
      const tis = await client.taskInstances('e2e_pipeline', runId);
      const ti = tis.find(t => t.task_id === 'long_log');
      if (ti?.state === 'failed' || tis.some(t => t.state === 'failed' || t.state === 'upstream_failed')) {
        throw new Error(`the run failed: ${tis.map(t => `${t.task_id}=${t.state}`).join(', ')}`);
      }
      if (ti?.state !== 'running') return undefined;
      const text = await client.log('e2e_pipeline', runId, 'long_log', 1).catch(() => '');
      return /progress \d+ of 30/.test(text) ? text : undefined;
    }, 3000);
    const state = await client.waitForRun('e2e_pipeline', runId, 5 * 60_000);
    const tis = await client.taskInstances('e2e_pipeline', runId);
    assert(state === 'success', `the run ended ${state}: ${tis.map(t => `${t.task_id}=${t.state}`).join(', ')}`);
    const first = tis.find(t => t.task_id === 'read_variable_and_connection');
    const deferredLog = await client.log('e2e_pipeline', runId, 'wait_deferred', 1);
    assert(/defer/i.test(deferredLog), `wait_deferred's log does not show a deferral:\n${deferredLog.slice(-800)}`);
    const triggererLog = triggererContainer(ecs).output.join('\n');
    assert(/trigger/i.test(triggererLog), 'the triggerer logged nothing about triggers');
    // task logs in S3 under logs/
    const bucket = logBucket(ecs);
    const listRunKeys = (): string[] => {
      const all: string[] = ecs.moto.python("r = client('s3').list_objects_v2(Bucket=args['bucket'], Prefix='logs/'); print(json.dumps([o['Key'] for o in r.get('Contents', [])]))", { bucket }, ecs.deployment.stacks[0].region);
      return all.filter(k => k.includes('dag_id=e2e_pipeline') && k.includes(`run_id=${runId}`));
    };
    // The worker's supervisor reports the task's state first and uploads its log after, so the
    // run can be 'success' a few seconds before the last log object exists.
    let runKeys: string[] = [];
    const uploaded = await waitUntil('long_log\'s log in S3', 60_000, async () => {
      runKeys = listRunKeys();
      return runKeys.some(k => k.includes('task_id=long_log')) || undefined;
    }, 2000).catch(() => false);
    assert(uploaded, `no long_log log in s3://${bucket}/logs/ within 60 s of the run's end (${runKeys.length} objects of this run: ${runKeys.join(', ')})`);
    // after the worker task stopped (as a scale-in stops it), the log comes from S3
    const worker = [...workers.tasks].reverse().find(t => t.endpoint?.ip === first.hostname || t.hostname === `ip-${first.hostname.replace(/\./g, '-')}.ec2.internal`);
    assert(worker, `no worker task had address ${first.hostname}`);
    if (worker.status !== 'STOPPED') await workers.stopTask(worker, 'scenario: stop the worker that ran the tasks');
    const afterStop = await client.log('e2e_pipeline', runId, 'long_log', 1);
    assert(afterStop.includes('long_log done'), `long_log's log is not readable after its worker stopped:\n${afterStop.slice(-500)}`);
    return `run ${state}; read_variable_and_connection ran on worker ${first.hostname}; wait_deferred deferred to the triggerer; `
      + `live log read while running (${live.split('\n').filter(l => l.includes('progress')).length} progress lines); ${runKeys.length} log objects in s3://${bucket}/logs/; `
      + `log read from S3 after ${worker.id} stopped`;
  },
};

/** The running triggerer container: in a triggerer task, or in a compact control plane's dag-processor task. */
function triggererContainer(ecs: LocalEcs) {
  const found = ecs.services.flatMap(s => s.running).flatMap(t => t.containers).find(c => c.name === 'triggerer' && c.status === 'RUNNING');
  assert(found, 'no triggerer container is running in any task');
  return found;
}

function logBucket(ecs: LocalEcs): string {
  const d = ecs.deployment;
  for (const td of d.resources('AWS::ECS::TaskDefinition')) {
    const p = d.resolve(td.stack, td.resource.Properties);
    for (const c of p.ContainerDefinitions) {
      const folder = (c.Environment ?? []).find((e: any) => e.Name === 'AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER');
      if (folder) return String(folder.Value).replace(/^s3:\/\//, '').split('/')[0];
    }
  }
  throw new Error('no component sets AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER');
}

// --- 4. scaling ------------------------------------------------------------------------------

export const scaling: Scenario = {
  id: 4,
  name: 'queue-based scaling and scale-in protection',
  async run({ ecs, client }) {
    await client.waitForDag('e2e_burst', 5 * 60_000);
    const workers = ecs.service('celery-worker');
    const callsBefore = ecs.agent.calls.length;
    const runId = await client.trigger('e2e_burst');
    const metrics = () => cloudwatchMaxima(ecs, { namespace: 'CdkAirflowEcs/Workers', by: 'MetricName', minutes: 20 });
    const peak = await waitUntil('QueuedTasks + RunningTasks reaching 12 and DesiredWorkers 2', 6 * 60_000, () => {
      const m = metrics();
      return (m.DesiredWorkers ?? 0) >= 2 && (m.QueuedTasks ?? 0) + (m.RunningTasks ?? 0) >= 12 ? m : undefined;
    }, 5000);
    assert(peak.DesiredWorkers === 2, `DesiredWorkers peaked at ${peak.DesiredWorkers}, expected ceil(12 / 8) = 2`);
    await waitUntil('a second worker task running', 6 * 60_000, () => workers.running.filter(t => t.status === 'RUNNING').length >= 2);
    // scale-in protection, observed on each worker while it runs tasks
    const protectedWhileBusy = new Set<string>();
    const watch = setInterval(() => {
      for (const t of workers.running) if (ecs.agent.isProtected(t.arn)) protectedWhileBusy.add(t.endpoint?.ip ?? t.id);
    }, 1000);
    let state: string;
    try {
      state = await client.waitForRun('e2e_burst', runId, 10 * 60_000);
    } finally {
      clearInterval(watch);
    }
    assert(state === 'success', `e2e_burst ended ${state}`);
    const tis = await client.taskInstances('e2e_burst', runId);
    const hosts = new Set(tis.map(t => t.hostname));
    assert(hosts.size >= 2, `all 12 tasks ran on one worker (${[...hosts].join(', ')})`);
    const unprotected = [...hosts].filter(h => !protectedWhileBusy.has(h));
    assert(unprotected.length === 0, `workers ${unprotected.join(', ')} ran tasks without scale-in protection`);
    const on = ecs.agent.calls.filter(c => c.method === 'PUT' && c.status === 200 && c.body?.ProtectionEnabled === true);
    await waitUntil('scale-in protection off on every worker once idle', 3 * 60_000, () => workers.running.every(t => !ecs.agent.isProtected(t.arn)));
    const off = ecs.agent.calls.slice(callsBefore).filter(c => c.method === 'PUT' && c.status === 200 && c.body?.ProtectionEnabled === false).length;
    return `peak QueuedTasks ${peak.QueuedTasks}, RunningTasks ${peak.RunningTasks}, DesiredWorkers ${peak.DesiredWorkers}; 12 tasks ran on ${hosts.size} workers; `
      + `scale-in protection on every busy worker (ExpiresInMinutes ${on[0]?.body.ExpiresInMinutes}), off on each once idle (${off} calls)`;
  },
};

// --- 5. warm shutdown ------------------------------------------------------------------------

export const warmShutdown: Scenario = {
  id: 5,
  name: 'warm shutdown of a worker',
  async run(ctx) {
    const { ecs, client } = ctx;
    await client.waitForDag('e2e_shutdown', 5 * 60_000);
    const workers = ecs.service('celery-worker');
    const runId = await client.trigger('e2e_shutdown');
    const running = await waitUntil('both tasks running', 10 * 60_000, async () => {
      const tis = await client.taskInstances('e2e_shutdown', runId);
      return tis.length === 2 && tis.every(t => t.state === 'running') ? tis : undefined;
    }, 2000);
    // StopTask on every worker running one of them: ECS sends SIGTERM, then SIGKILL after the stop timeout
    const busy = workers.running.filter(t => running.some(ti => ti.hostname === t.endpoint?.ip));
    assert(busy.length > 0, `no worker task has the address the tasks run on (${running.map(t => t.hostname).join(', ')})`);
    const stopTimeout = busy[0].main.def.StopTimeout ?? 30;
    const sigterm = Date.now();
    await Promise.all(busy.map(w => workers.stopTask(w, 'warm shutdown scenario (StopTask)')));
    const stoppedAfter = Math.max(...busy.map(w => (w.stoppedAt! - sigterm) / 1000));
    const afterStop = await client.taskInstances('e2e_shutdown', runId);
    const short = afterStop.find(t => t.task_id === 'short_task');
    assert(short.state === 'success', `short_task is ${short.state} after its worker's warm shutdown`);
    assert(stoppedAfter <= stopTimeout + 5, `the workers took ${stoppedAfter.toFixed(0)} s to stop, beyond their stop timeout ${stopTimeout} s`);
    const exits = busy.map(w => w.main.exitCode).join(', ');
    const detail = `SIGTERM mid-task to ${busy.length} worker(s): short_task finished (success), the workers stopped within ${stoppedAfter.toFixed(0)} s `
      + `(stop timeout ${stopTimeout} s, exit ${exits})`;
    // the scheduler notices the killed task after [scheduler] task_instance_heartbeat_timeout (300 s): check later
    ctx.followUps.push({
      scenario: warmShutdown,
      started: Date.now(),
      check: async () => {
        const state = await client.waitForRun('e2e_shutdown', runId, 15 * 60_000);
        const tis = await client.taskInstances('e2e_shutdown', runId);
        const long = tis.find(t => t.task_id === 'long_task');
        assert(state === 'success' && long.try_number === 2, `the run ended ${state}, long_task try ${long.try_number} (${long.state})`);
        return `${detail}; long_task was killed and retried: try ${long.try_number} succeeded on ${long.hostname}`;
      },
    });
    return `${detail}; waiting for the scheduler to retry long_task`;
  },
};

// --- 6. faults -------------------------------------------------------------------------------

export const faults: Scenario = {
  id: 6,
  name: 'faults: database restart, api-server restart',
  async run({ ecs, client }) {
    await client.waitForDag('e2e_resilience', 5 * 60_000);
    const db = ecs.databases[0];
    // 1. PostgreSQL restarts while a task runs
    const run1 = await client.trigger('e2e_resilience');
    await waitUntil('e2e_resilience running', 10 * 60_000, async () => (await client.taskInstances('e2e_resilience', run1)).some(t => t.state === 'running'));
    db.stop();
    await sleep(10_000);
    db.restart();
    const state1 = await client.waitForRun('e2e_resilience', run1, 10 * 60_000).catch(e => `error: ${(e as Error).message}`);
    await ecs.waitForServices(10 * 60_000);
    const run2 = await client.trigger('e2e_resilience');
    const state2 = await client.waitForRun('e2e_resilience', run2, 10 * 60_000);
    assert(state2 === 'success', `the run after the database restart ended ${state2}`);
    // 2. the api-server task stops while a task runs (the worker calls the Execution API)
    const api = ecs.service('api-server');
    const run3 = await client.trigger('e2e_resilience');
    await waitUntil('e2e_resilience running', 10 * 60_000, async () => (await client.taskInstances('e2e_resilience', run3)).some(t => t.state === 'running'));
    const old = api.running[0];
    await api.stopTask(old, 'api-server restart scenario (StopTask)');
    await waitUntil('a new api-server task healthy', 10 * 60_000, () => api.running.some(t => t !== old && t.health === 'HEALTHY'));
    await waitUntil('the load balancer routing to the new api-server', 3 * 60_000, () => ecs.loadBalancers[0].health(ecs.loadBalancers[0].targetGroups[0].arn).some(t => t.state === 'healthy'));
    const state3 = await client.waitForRun('e2e_resilience', run3, 10 * 60_000);
    const ti3 = (await client.taskInstances('e2e_resilience', run3))[0];
    assert(state3 === 'success', `the run across the api-server restart ended ${state3}`);
    const restarted = ecs.services.flatMap(s => s.tasks.filter(t => t.status === 'STOPPED' && t.stoppedReason && !/Scaling|scenario/.test(t.stoppedReason)).map(t => `${t.id} (${t.stoppedReason})`));
    return `database restarted mid-run: that run ${state1}, every component healthy again${restarted.length ? ` (ECS replaced ${restarted.join(', ')})` : ' without replacements'}, the next run success; `
      + `api-server replaced mid-run (new address ${api.running.find(t => t !== old)?.endpoint?.ip}): the running task ${ti3.try_number === 1 ? 'survived' : `was retried (try ${ti3.try_number})`}, run success`;
  },
};

// --- 7. security groups ----------------------------------------------------------------------

/** What the library's design allows (DEVELOPERS.md): from component to (target, port). */
const EXPECTED: Record<string, Record<string, boolean>> = {
  'api-server': { 'database:5432': true, 'broker:6379': false, 'celery-worker:8793': true, 'triggerer:8794': true },
  'scheduler': { 'database:5432': true, 'broker:6379': true, 'api-server:8080': false, 'celery-worker:8793': false, 'triggerer:8794': false },
  'dag-processor': { 'database:5432': true, 'broker:6379': false, 'api-server:8080': false, 'celery-worker:8793': false },
  'triggerer': { 'database:5432': true, 'broker:6379': false, 'api-server:8080': false, 'celery-worker:8793': false },
  'celery-worker': { 'database:5432': true, 'broker:6379': true, 'api-server:8080': true, 'triggerer:8794': false },
  'load-balancer': { 'api-server:8080': true, 'database:5432': false, 'broker:6379': false, 'celery-worker:8793': false },
};

export const securityGroupsScenario: Scenario = {
  id: 7,
  name: 'security groups between tasks',
  async run({ ecs }) {
    const workers = ecs.service('celery-worker');
    workers.desiredCount = Math.max(workers.desiredCount, 1);
    ecs.scalingSuspended = true;
    try {
      await waitUntil('a worker task running', 6 * 60_000, () => workers.running.some(t => t.status === 'RUNNING' && t.main.status === 'RUNNING'));
      const worker = workers.running.find(t => t.status === 'RUNNING')!;
      await waitUntil('the worker log server listening', 5 * 60_000, () => ecs.network.canConnect(ecs.service('api-server').running[0].endpoint!, worker.endpoint!.ip, 8793) || undefined, 5000);
      const targets: Record<string, string> = {
        'database:5432': ecs.databases[0].endpoint.ip,
        'broker:6379': ecs.brokers[0].endpoint.ip,
        'api-server:8080': ecs.service('api-server').running[0].endpoint!.ip,
        'celery-worker:8793': worker.endpoint!.ip,
        'triggerer:8794': ecs.service('triggerer').running[0].endpoint!.ip,
      };
      const sources: Record<string, Task | { endpoint: any }> = {
        'load-balancer': { endpoint: ecs.loadBalancers[0].endpoint },
      };
      for (const s of ecs.services) sources[s.shortName] = s.running.find(t => t.status === 'RUNNING')!;
      const mismatches: string[] = [];
      let checked = 0;
      for (const [from, expectations] of Object.entries(EXPECTED)) {
        const source = sources[from];
        assert(source?.endpoint, `no running ${from} to test from`);
        for (const [target, allowed] of Object.entries(expectations)) {
          const [, port] = target.split(':');
          const ok = ecs.network.canConnect(source.endpoint, targets[target], Number(port), 3);
          checked++;
          if (ok !== allowed) mismatches.push(`${from} -> ${target}: ${ok ? 'connected' : 'blocked'}, expected ${allowed ? 'allowed' : 'blocked'}`);
        }
      }
      assert(mismatches.length === 0, mismatches.join('; '));
      return `${checked} connections tried from 6 namespaces: every allowed one connected, every other one was dropped`;
    } finally {
      ecs.scalingSuspended = false;
    }
  },
};

// --- 8. resource use -------------------------------------------------------------------------

export const resources: Scenario = {
  id: 8,
  name: 'resource use per component',
  async run({ ecs, usage }) {
    usage.sample();
    const rows: string[] = [];
    const header = `${'component'.padEnd(15)} ${'task size'.padEnd(16)} ${'idle peak'.padStart(10)} ${'busy peak'.padStart(10)} ${'busy CPU s'.padStart(10)}`;
    for (const s of ecs.services) {
      const td = ecs.deployment.resolve(s.ref.stack, ecs.deployment.resource(s.ref.stack, s.taskDefinitionLogicalId).resource.Properties);
      const byPhase = usage.peaks.get(s.shortName) ?? new Map();
      const idle = byPhase.get('idle');
      const busy = byPhase.get('busy');
      rows.push(`${s.shortName.padEnd(15)} ${`${Number(td.Cpu) / 1024} vCPU/${Number(td.Memory)} MiB`.padEnd(16)} ${fmt(idle?.memoryMiB, 'MiB')} ${fmt(busy?.memoryMiB, 'MiB')} ${fmt(busy?.cpuSeconds, '')}`);
      const limit = Number(td.Memory);
      const peak = Math.max(idle?.memoryMiB ?? 0, busy?.memoryMiB ?? 0);
      assert(peak < limit, `${s.shortName} peaked at ${peak.toFixed(0)} MiB, over its task memory ${limit} MiB`);
    }
    const table = [header, ...rows].join('\n');
    log(`resource use (cgroup memory less page cache, sampled every 3 s; CPU seconds during scenarios 3-4):\n${table}`);
    return `\n${table}`;
  },
};

function fmt(v: number | undefined, unit: string): string {
  return (v === undefined ? '-' : `${v.toFixed(0)}${unit ? ` ${unit}` : ''}`).padStart(10);
}

// --- 9. worker pools --------------------------------------------------------------------------

/** The worker service whose Celery worker consumes the queue. */
function serviceConsuming(ecs: LocalEcs, queue: string) {
  const found = ecs.services.find(s => {
    const worker = s.taskDefinition.ContainerDefinitions.find((c: any) => c.Name === 'celery-worker' && c.Essential !== false);
    if (!worker) return false;
    const command: string[] = worker.Command ?? [];
    const queues = command.includes('--queues') ? command[command.indexOf('--queues') + 1].split(',') : ['default'];
    return queues.includes(queue);
  });
  assert(found, `no worker service consumes queue ${queue}`);
  return found;
}

export const workerPools: Scenario = {
  id: 9,
  name: 'worker pools route tasks by queue and scale on their own queues',
  async run({ ecs, client }) {
    await client.waitForDag('e2e_pools', 5 * 60_000);
    const light = serviceConsuming(ecs, 'default');
    const heavy = serviceConsuming(ecs, 'heavy');
    assert(light !== heavy, 'the default and heavy queues are consumed by one service');
    // the pools the scheduler's sidecar publishes for: WorkerService dimension -> queues
    const publisher = ecs.service('scheduler').taskDefinition.ContainerDefinitions.find((c: any) => c.Name === 'queue-metrics');
    const pools: { dimensions: { WorkerService: string }; queues: string[] }[] = JSON.parse(publisher.Environment.find((e: any) => e.Name === 'CDK_AIRFLOW_SCALING_POOLS').Value);
    const dimensionOf = (queue: string) => pools.find(p => p.queues.includes(queue))!.dimensions.WorkerService;
    const desiredPerPool = () => cloudwatchMaxima(ecs, { namespace: 'CdkAirflowEcs/Workers', metricName: 'DesiredWorkers', by: 'WorkerService', minutes: 20 });
    // after the cold start both pools scale in to 0 (nothing queued): a worker stopped by that
    // scale-in while it has just taken a task would be killed mid-task at its stopTimeout, which
    // is ECS's scale-in race, not routing; trigger once the pools are idle and their workers gone
    await waitUntil('both pools scaled in after the cold start', 5 * 60_000,
      () => [light, heavy].every(s => s.desiredCount === 0 && s.tasks.every(t => t.status === 'STOPPED')), 5000);
    const runId = await client.trigger('e2e_pools');
    // 3 heavy tasks at 2 per worker: 2 heavy workers; 3 light tasks at 8 per worker: 1 light worker
    const peak = await waitUntil('DesiredWorkers 2 for the heavy pool and 1 for the default pool', 8 * 60_000, () => {
      const d = desiredPerPool();
      return (d[dimensionOf('heavy')] ?? 0) >= 2 && (d[dimensionOf('default')] ?? 0) >= 1 ? d : undefined;
    }, 5000);
    await waitUntil('two heavy workers running', 8 * 60_000, () => heavy.running.filter(t => t.status === 'RUNNING').length >= 2);
    const state = await client.waitForRun('e2e_pools', runId, 12 * 60_000);
    const tis = await client.taskInstances('e2e_pools', runId);
    assert(state === 'success', `e2e_pools ended ${state}: ${tis.map(t => `${t.task_id}[${t.map_index}]=${t.state}`).join(', ')}`);
    const ranOn = (service: typeof light, hostname: string) => service.tasks.some(t => t.endpoint?.ip === hostname);
    const misplaced = tis.filter(t => !ranOn(t.task_id === 'heavy' ? heavy : light, t.hostname));
    assert(misplaced.length === 0, `tasks ran outside their pool: ${misplaced.map(t => `${t.task_id}[${t.map_index}] on ${t.hostname}`).join(', ')}`);
    const heavyHosts = new Set(tis.filter(t => t.task_id === 'heavy').map(t => t.hostname));
    const lightHosts = new Set(tis.filter(t => t.task_id === 'light').map(t => t.hostname));
    // the light pool's own need never rose above 1: the heavy tasks did not count for it
    const final = desiredPerPool();
    assert(final[dimensionOf('default')] === 1, `the default pool's DesiredWorkers peaked at ${final[dimensionOf('default')]}, expected ceil(3 / 8) = 1`);
    assert(final[dimensionOf('heavy')] === 2, `the heavy pool's DesiredWorkers peaked at ${final[dimensionOf('heavy')]}, expected ceil(3 / 2) = 2`);
    return `3 heavy tasks ran on ${heavyHosts.size} worker(s) of ${heavy.shortName}, 3 light tasks on ${lightHosts.size} of ${light.shortName}; `
      + `DesiredWorkers peaked at ${peak[dimensionOf('heavy')]} (heavy) and ${final[dimensionOf('default')]} (default); `
      + `desired counts ${heavy.shortName} ${heavy.desiredCount}, ${light.shortName} ${light.desiredCount} at the end`;
  },
};

export const dbClean: Scenario = {
  id: 10,
  name: 'the scheduled db clean deletes old records and keeps recent ones',
  async run({ ecs }) {
    const schedules = ecs.deployment.resources('AWS::Scheduler::Schedule');
    assert(schedules.length === 1, `expected one schedule (db clean), found ${schedules.length}`);
    assert(ecs.databases.length === 1, 'expected one database');
    const db = ecs.databases[0];
    const sql = (query: string) => db.sql('airflow', query).trim();
    // audit-log rows 120 and 91 days old, one 89 days old; and the runs of one DAG made 100 days old
    sql("INSERT INTO log (dttm, event, owner) VALUES (now() - interval '120 days', 'e2e-clean-old', 'e2e'), "
      + "(now() - interval '91 days', 'e2e-clean-old', 'e2e'), (now() - interval '89 days', 'e2e-clean-recent', 'e2e')");
    // a DAG with only manual, started runs: db clean keeps the latest scheduled run of each DAG
    const agedDag = sql("SELECT dag_id FROM dag_run GROUP BY dag_id HAVING bool_and(run_type = 'manual') AND bool_and(start_date IS NOT NULL) ORDER BY dag_id LIMIT 1");
    const count = (table: string, where: string) => Number(sql(`SELECT count(*) FROM ${table} WHERE ${where}`));
    let aged = 0;
    if (agedDag) {
      sql(`UPDATE task_instance SET start_date = start_date - interval '100 days' WHERE dag_id = '${agedDag}' AND start_date IS NOT NULL`);
      sql(`UPDATE dag_run SET start_date = start_date - interval '100 days' WHERE dag_id = '${agedDag}'`);
      aged = count('dag_run', `dag_id = '${agedDag}'`);
    }
    const othersBefore = count('dag_run', agedDag ? `dag_id <> '${agedDag}'` : 'true');
    const started = Date.now();
    const task = await ecs.runScheduledTask(schedules[0], 'db-clean');
    const container = task.containers.find(c => c.name === 'db-clean')!;
    assert(container.exitCode === 0, `db-clean exited with ${container.exitCode} (${task.stoppedReason}); see its log`);
    const left = sql("SELECT event || ':' || count(*) FROM log WHERE event LIKE 'e2e-clean-%' GROUP BY event ORDER BY event");
    assert(left === 'e2e-clean-recent:1', `audit-log rows left: ${left || 'none'}; expected only the 89-day-old one`);
    if (agedDag) {
      assert(count('dag_run', `dag_id = '${agedDag}'`) === 0, `the 100-day-old runs of ${agedDag} are still there`);
      assert(count('task_instance', `dag_id = '${agedDag}'`) === 0, `the task instances of the old runs of ${agedDag} are still there`);
    }
    const othersAfter = count('dag_run', agedDag ? `dag_id <> '${agedDag}'` : 'true');
    assert(othersAfter === othersBefore, `recent DAG runs were deleted: ${othersBefore} before, ${othersAfter} after`);
    return `task of ${schedules[0].logicalId} exited 0 in ${((Date.now() - started) / 1000).toFixed(0)} s; deleted 2 audit-log rows older than 90 days, kept the 89-day-old one; `
      + (agedDag ? `deleted the ${aged} run(s) of ${agedDag} made 100 days old with their task instances; ` : '')
      + `kept the ${othersAfter} recent run(s)`;
  },
};

export const sidecarRestart: Scenario = {
  id: 11,
  name: 'a crashed queue-metrics sidecar restarts in place; the scheduler keeps running; heartbeat ages published',
  async run({ ecs }) {
    const task = ecs.service('scheduler').running.find(t => t.status === 'RUNNING');
    assert(task, 'no running scheduler task');
    const sidecar = task.containers.find(c => c.name === 'queue-metrics')!;
    const scheduler = task.containers.find(c => c.name === 'scheduler')!;
    const period = sidecar.def.RestartPolicy?.RestartAttemptPeriod ?? 300;
    await waitUntil(`the sidecar running for its restart attempt period (${period} s)`, (period + 60) * 1000,
      () => sidecar.status === 'RUNNING' && Date.now() - sidecar.startedAt! > (period + 1) * 1000 ? true : undefined, 1000);
    const published = () => sidecar.output.filter(l => l.includes('"published"')).length;
    const before = { schedulerPid: scheduler.pid, published: published(), restarts: sidecar.restarts };
    process.kill(sidecar.pid!, 'SIGKILL');
    const killed = Date.now();
    await waitUntil('the sidecar restarted in place', 60_000, () => sidecar.restarts > before.restarts && sidecar.status === 'RUNNING' ? true : undefined, 500);
    await waitUntil('a round published after the restart', 120_000, () => published() > before.published ? true : undefined)
      .catch(e => {
        throw new Error(`${(e as Error).message}; the sidecar is ${sidecar.status} (exit ${sidecar.exitCode ?? '-'}, restarts ${sidecar.restarts}); its last output:\n`
          + sidecar.output.slice(-25).map(l => `    ${l}`).join('\n'));
      });
    assert(task.status === 'RUNNING' && scheduler.status === 'RUNNING' && scheduler.pid === before.schedulerPid,
      `the scheduler did not keep running (task ${task.status}, scheduler ${scheduler.status})`);
    // what the scheduler-heartbeat alarm reads: each long-running component's heartbeat age
    const ages = cloudwatchMaxima(ecs, { namespace: 'CdkAirflowEcs/Airflow', metricName: 'HeartbeatAge', by: 'Component', minutes: 3 });
    for (const component of ['scheduler', 'dag-processor', 'triggerer']) {
      assert(ages[component] !== undefined && ages[component] >= 0 && ages[component] < 120,
        `HeartbeatAge of ${component} in the last 3 minutes: ${ages[component]} (expected a fresh heartbeat, under the alarm's 120 s)`);
    }
    return `SIGKILL to queue-metrics: restarted in place and publishing again ${((Date.now() - killed) / 1000).toFixed(0)} s later; `
      + 'the scheduler container kept running (same process); HeartbeatAge (max, last 3 min): '
      + Object.entries(ages).sort().map(([c, a]) => `${c} ${a.toFixed(0)} s`).join(', ');
  },
};

// --- 12. Airflow's own metrics --------------------------------------------------------------

/** What each component's Airflow emits and the airflow-metrics sidecars must have published. */
const AIRFLOW_METRICS: Record<string, string> = {
  'scheduler_heartbeat': 'scheduler',
  'executor.open_slots': 'scheduler',
  'executor.running_tasks': 'scheduler',
  'pool.open_slots': 'scheduler',
  'dag_processing.total_parse_time': 'dag-processor',
  'dagbag_size': 'dag-processor',
  'triggerer_heartbeat': 'triggerer',
  'ti_successes': 'celery-worker',
  'ti_failures': 'celery-worker',
};

export const airflowMetrics: Scenario = {
  id: 12,
  name: 'Airflow\'s own metrics reach CloudWatch from every component',
  async run({ ecs, client, outDir, label }) {
    await client.waitForDag('e2e_metrics', 5 * 60_000);
    const runId = await client.trigger('e2e_metrics');
    const state = await client.waitForRun('e2e_metrics', runId, 8 * 60_000);
    const tis = await client.taskInstances('e2e_metrics', runId);
    const states = Object.fromEntries(tis.map(t => [t.task_id, t.state]));
    assert(states.succeeds === 'success' && states.fails === 'failed', `e2e_metrics ended ${state}: ${JSON.stringify(states)}`);
    // each sidecar publishes once a minute: wait for the period that holds the run's end
    const sum = (name: string) => ecs.moto.python([
      'import datetime',
      'now = datetime.datetime.now(datetime.timezone.utc)',
      "cw = client('cloudwatch')",
      'total = 0',
      "for m in cw.list_metrics(Namespace='CdkAirflowEcs/Airflow', MetricName=args['name'])['Metrics']:",
      "    r = cw.get_metric_statistics(Namespace=m['Namespace'], MetricName=m['MetricName'], Dimensions=m['Dimensions'],"
      + " StartTime=now - datetime.timedelta(minutes=10), EndTime=now, Period=60, Statistics=['Sum'])",
      "    total += sum(p['Sum'] for p in r['Datapoints'])",
      'print(json.dumps(total))',
    ].join('\n'), { name }, ecs.deployment.stacks[0].region) as number;
    const failures = await waitUntil('ti_failures counted in CloudWatch', 3 * 60_000, () => sum('ti_failures') >= 1 ? sum('ti_failures') : undefined, 10_000);
    const maxima = cloudwatchMaxima(ecs, { namespace: 'CdkAirflowEcs/Airflow', by: 'MetricName', minutes: 30 });
    const missing = Object.entries(AIRFLOW_METRICS).filter(([name]) => maxima[name] === undefined).map(([name, from]) => `${name} (${from})`);
    assert(missing.length === 0, `not in CloudWatch after the run: ${missing.join(', ')}; published: ${Object.keys(maxima).sort().join(', ')}`);
    const pools = cloudwatchMaxima(ecs, { namespace: 'CdkAirflowEcs/Airflow', metricName: 'pool.open_slots', by: 'Pool', minutes: 30 });
    assert(pools.default_pool !== undefined, `pool.open_slots has no default_pool dimension: ${JSON.stringify(pools)}`);
    const perDag = Object.keys(maxima).filter(n => /e2e_|succeeds|fails/.test(n));
    assert(perDag.length === 0, `metrics named after DAGs or tasks were published: ${perDag.join(', ')}`);
    // the dashboard, drawn from its widget definitions with what the stand-in holds
    const shot = path.join(outDir, `dashboard-${label.replace(/[^a-z0-9.-]+/gi, '-')}.png`);
    // the window: since the first task of the deployment started
    const since = Math.min(...ecs.services.flatMap(svc => svc.tasks).map(t => t.startedAt ?? Date.now()));
    const drawn = await renderDashboard(ecs, shot, Math.max(10, Math.ceil((Date.now() - since) / 60_000) + 1));
    assert(drawn.names.includes('Tasks: successes and failures (per minute)') && drawn.names.includes('Executor: open, queued and running slots'),
      `the dashboard's Airflow widgets show no data: ${drawn.names.join(', ')}`);
    // what it costs at CloudWatch's list prices (us-east-1): each metric (name + dimensions) $0.30 a
    // month, PutMetricData $0.01 per 1,000 calls; the calls counted from the sidecars' logs
    // (the stand-in lists a metric once per datapoint: count distinct name + dimensions)
    const series = ecs.moto.python("print(json.dumps(len({(m['MetricName'], tuple(sorted((d['Name'], d['Value']) for d in m['Dimensions']))) "
      + "for m in client('cloudwatch').list_metrics(Namespace='CdkAirflowEcs/Airflow')['Metrics'] if m['MetricName'] != 'HeartbeatAge'})))",
    {}, ecs.deployment.stacks[0].region) as number;
    const sidecars = ecs.services.flatMap(svc => svc.running).flatMap(t => t.containers.filter(c => c.name === 'airflow-metrics' && c.startedAt));
    const callsPerMinute = sidecars.reduce((n, c) => n + c.output.filter(l => l.includes('"published"')).length / Math.max(1, (Date.now() - c.startedAt!) / 60_000), 0);
    const monthly = series * 0.30 + callsPerMinute * 60 * 730 / 1000 * 0.01;
    return `dashboard ${path.relative(process.cwd(), shot)}: ${drawn.withData} of ${drawn.graphs} graphs with data; `
      + `cost: ${series} custom metrics and ${callsPerMinute.toFixed(1)} PutMetricData calls a minute from ${sidecars.length} sidecars = $${monthly.toFixed(2)} a month; `
      + `${Object.keys(maxima).length} metric names in CdkAirflowEcs/Airflow, none named after a DAG or task; `
      + `ti_successes ${sum('ti_successes')} and ti_failures ${failures} (last 10 min), scheduler_heartbeat ${sum('scheduler_heartbeat')}/10 min, `
      + `executor.open_slots ${maxima['executor.open_slots']}, pool.open_slots default_pool ${pools.default_pool}, `
      + `dag_processing.total_parse_time ${maxima['dag_processing.total_parse_time'].toFixed(2)} s, dagbag_size ${maxima.dagbag_size}`;
  },
};

// --- 13. a worker deployment with a busy worker ------------------------------------------------

export const draining: Scenario = {
  id: 13,
  name: 'a new worker deployment drains the busy old worker: it finishes its task, takes no new ones, and the rollout completes',
  async run({ ecs, client }) {
    await client.waitForDag('e2e_drain_long', 5 * 60_000);
    await client.waitForDag('e2e_drain_short', 5 * 60_000);
    const workers = ecs.service('celery-worker');
    const longRun = await client.trigger('e2e_drain_long');
    const running = await waitUntil('long_running running on a worker', 8 * 60_000, async () => {
      const ti = (await client.taskInstances('e2e_drain_long', longRun))[0];
      if (ti?.state === 'failed') throw new Error('long_running failed before the deployment');
      return ti?.state === 'running' && ti.hostname ? ti : undefined;
    }, 2000);
    const old = workers.running.find(t => t.endpoint?.ip === running.hostname);
    assert(old, `no worker task has address ${running.hostname}`);
    await waitUntil('the busy worker protected from scale-in', 60_000, () => ecs.agent.isProtected(old.arn), 1000);
    // what an UpdateService with a new task definition revision does (a new image, new settings)
    const deployed = Date.now();
    const deploymentId = workers.newDeployment('scenario: a new worker task definition');
    const sidecar = old.containers.find(c => c.name === 'scale-in-protection')!;
    const drainLine = await waitUntil('the old worker\'s sidecar draining it', 90_000,
      () => sidecar.output.find(l => l.includes('"draining')), 1000);
    const drainedAfter = (Date.now() - deployed) / 1000;
    // work arriving now must go to the new deployment's worker
    const shortRun = await client.trigger('e2e_drain_short');
    const shortState = await client.waitForRun('e2e_drain_short', shortRun, 10 * 60_000);
    const shortTis = await client.taskInstances('e2e_drain_short', shortRun);
    assert(shortState === 'success', `e2e_drain_short ended ${shortState}`);
    const onOld = shortTis.filter(t => t.hostname === running.hostname);
    assert(onOld.length === 0, `${onOld.length} of e2e_drain_short's tasks ran on the draining worker ${running.hostname}`);
    const newWorkers = new Set(shortTis.map(t => t.hostname));
    const fresh = workers.running.filter(t => t.launch.startedBy === deploymentId).map(t => t.endpoint?.ip);
    assert([...newWorkers].every(h => fresh.includes(h)), `e2e_drain_short ran on ${[...newWorkers].join(', ')}, not only on the new deployment's workers (${fresh.join(', ')})`);
    // the long task finishes on the old worker, which then stops: the rollout completes
    const longState = await client.waitForRun('e2e_drain_long', longRun, 6 * 60_000);
    assert(longState === 'success', `long_running ended ${longState} on the draining worker`);
    await waitUntil('the old worker stopped by the deployment', 3 * 60_000, () => old.status === 'STOPPED' ? true : undefined, 2000);
    assert(/deployment/.test(old.stoppedReason ?? ''), `the old worker stopped for another reason: ${old.stoppedReason}`);
    assert(workers.oldTasks.length === 0, `old deployment tasks still running: ${workers.oldTasks.map(t => t.id).join(', ')}`);
    const stopSeconds = ((old.stoppedAt! - deployed) / 1000).toFixed(0);
    return `drain started ${drainedAfter.toFixed(0)} s after the new deployment (${JSON.parse(drainLine).queues?.join(',')}); `
      + `${shortTis.length} new tasks all ran on the new deployment's worker(s) ${[...newWorkers].join(', ')}; long_running finished (success) on `
      + `the old worker, which the deployment stopped ${stopSeconds} s after it began (exit ${old.main.exitCode}); rollout complete`;
  },
};

// --- 14. connections and variables from the secrets backend ------------------------------------

export const secretsBackend: Scenario = {
  id: 14,
  name: 'a task reads a connection and a variable that exist only in Secrets Manager (the secrets backend)',
  async run({ ecs, client }) {
    const backend = ecs.environmentValue('AIRFLOW__SECRETS__BACKEND');
    const kwargs = JSON.parse(ecs.environmentValue('AIRFLOW__SECRETS__BACKEND_KWARGS') ?? '{}');
    assert(backend === 'airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend', `AIRFLOW__SECRETS__BACKEND is ${backend}`);
    // the team's secrets, in the Secrets Manager stand-in, under the configured prefixes
    const conn = { conn_type: 'http', host: 'backend.example.com', login: 'e2e', password: 'p@ss/w:rd%' };
    ecs.moto.python([
      "sm = client('secretsmanager')",
      'for name, value in args.items():',
      '    try:',
      '        sm.create_secret(Name=name, SecretString=value)',
      '    except sm.exceptions.ResourceExistsException:',
      '        sm.put_secret_value(SecretId=name, SecretString=value)',
    ].join('\n'), {
      [`${kwargs.connections_prefix}/e2e_backend_conn`]: JSON.stringify(conn),
      [`${kwargs.variables_prefix}/e2e_backend_var`]: 'from-secrets-manager',
    }, ecs.deployment.stacks[0].region);
    // neither exists in Airflow's database
    const inDb = await client.api('/api/v2/connections/e2e_backend_conn').then(() => true, () => false);
    assert(!inDb, 'e2e_backend_conn is in the metadata database: the scenario would not prove the backend');
    await client.waitForDag('e2e_secrets_backend', 5 * 60_000);
    const runId = await client.trigger('e2e_secrets_backend');
    const state = await client.waitForRun('e2e_secrets_backend', runId, 10 * 60_000);
    const taskLog = await client.log('e2e_secrets_backend', runId, 'read_from_secrets_manager', 1).catch(e => `(no log: ${e})`);
    assert(state === 'success', `the run ended ${state}:\n${taskLog.slice(-1500)}`);
    const line = taskLog.split('\n').find(l => l.includes('from the secrets backend'));
    return `${kwargs.connections_prefix}/e2e_backend_conn and ${kwargs.variables_prefix}/e2e_backend_var read on a worker `
      + `(password with / : % intact; a missing variable fell back to its default): ${line?.replace(/^.*from the secrets backend: /, '').trim()}`;
  },
};

// --- 15. a compact control plane ----------------------------------------------------------------

export const compactControlPlane: Scenario = {
  id: 15,
  name: 'compact control plane: the triggerer runs in the dag-processor\'s task, both healthy and heartbeating',
  async run({ ecs, client }) {
    const names = ecs.services.map(s => s.shortName);
    assert(!names.includes('triggerer'), `a triggerer service runs beside the compact dag-processor: ${names.join(', ')}`);
    const task = ecs.service('dag-processor').running.find(t => t.status === 'RUNNING');
    assert(task, 'no running dag-processor task');
    const components = ['dag-processor', 'triggerer'].map(n => task.container(n));
    for (const c of components) {
      assert(c.essential && c.status === 'RUNNING' && c.health === 'HEALTHY', `${c.name} in ${task.id}: ${c.status}, ${c.health}, essential ${c.essential}`);
    }
    // the only triggerer there has been, so the one that ran scenario 3's deferred task
    const triggerers = ecs.services.flatMap(s => s.tasks).flatMap(t => t.containers).filter(c => c.name === 'triggerer');
    assert(triggerers.length === 1 && triggerers[0].task === task, `triggerer containers so far: ${triggerers.map(c => c.task.id).join(', ')}`);
    // Airflow's own view: both jobs heartbeat
    const health = await client.api('/api/v2/monitor/health');
    const ages: string[] = [];
    for (const [key, heartbeat] of [['triggerer', 'latest_triggerer_heartbeat'], ['dag_processor', 'latest_dag_processor_heartbeat']]) {
      assert(health[key]?.status === 'healthy', `/api/v2/monitor/health: ${key} is ${JSON.stringify(health[key])}`);
      ages.push(`${key} healthy, heartbeat ${((Date.now() - Date.parse(health[key][heartbeat])) / 1000).toFixed(0)} s ago`);
    }
    return `services: ${names.join(', ')}; ${task.id} runs dag-processor and triggerer, both essential and HEALTHY; `
      + `the only triggerer so far, so the one that ran the DAG run's deferred task; /api/v2/monitor/health: ${ages.join('; ')}`;
  },
};

export const ALL_SCENARIOS: Scenario[] = [
  coldStart, login, dagRun, scaling, warmShutdown, faults, securityGroupsScenario, resources, dbClean, sidecarRestart, airflowMetrics, draining,
];
