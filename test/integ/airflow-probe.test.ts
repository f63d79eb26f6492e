/**
 * The integ tests' probe (airflow-probe/index.js), run for real against a local HTTP server that
 * answers the Airflow 3 REST API calls it makes the way Airflow's routes do (the status codes and
 * bodies of airflow-core's api_fastapi routes for /auth/token, dags, dagRuns and taskInstances,
 * and of /api/v2/monitor/health). The real Airflow is only reached by a deployed integ test.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { probe } = require('./airflow-probe/index.js');

const PASSWORD = 'correct horse';

/** What the fake Airflow holds, and every request it received. */
interface FakeAirflow {
  url: string;
  parsed: boolean;
  paused: boolean;
  runs: Map<string, { state: string }>;
  requests: string[];
  close(): Promise<void>;
}

async function fakeAirflow(): Promise<FakeAirflow> {
  const state = { parsed: false, paused: true, runs: new Map<string, { state: string }>(), requests: [] as string[] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', d => { body += d; });
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      const url = new URL(req.url ?? '/', 'http://airflow');
      state.requests.push(`${req.method} ${url.pathname}`);
      if (url.pathname === '/api/v2/monitor/health') {
        return send(200, { metadatabase: { status: 'healthy' }, scheduler: { status: 'healthy', latest_scheduler_heartbeat: '2026-12-02T06:00:00+00:00' } });
      }
      if (url.pathname === '/auth/token' && req.method === 'POST') {
        const { username, password } = JSON.parse(body);
        return username === 'admin' && password === PASSWORD ? send(201, { access_token: 'jwt' }) : send(401, { detail: 'Invalid credentials' });
      }
      if (req.headers.authorization !== 'Bearer jwt') return send(401, { detail: 'Not authenticated' });
      if (url.pathname === '/api/v2/importErrors') {
        return send(200, { import_errors: [{ filename: '/opt/airflow/dags/broken.py', stack_trace: 'Traceback\n  File x\nNameError: oops' }], total_entries: 1 });
      }
      const m = /^\/api\/v2\/dags\/([^/]+)(?:\/dagRuns(?:\/([^/]+))?(\/taskInstances)?)?$/.exec(url.pathname);
      if (!m || m[1] !== 'integ_smoke' || !state.parsed) return send(404, { detail: 'not found' });
      const [, dagId, runId, tis] = m;
      if (url.pathname === `/api/v2/dags/${dagId}`) {
        if (req.method === 'PATCH') state.paused = JSON.parse(body).is_paused;
        return send(200, { dag_id: dagId, is_paused: state.paused });
      }
      if (runId === undefined && req.method === 'POST') {
        const { dag_run_id: id, logical_date: logicalDate } = JSON.parse(body);
        if (logicalDate === undefined) return send(422, { detail: 'logical_date: Field required' });
        if (state.runs.has(id)) return send(409, { detail: 'conflict' });
        state.runs.set(id, { state: 'queued' });
        return send(200, { dag_run_id: id, state: 'queued' });
      }
      const run = state.runs.get(decodeURIComponent(runId ?? ''));
      if (!run) return send(404, { detail: 'The DagRun was not found' });
      if (tis) return send(200, { task_instances: [{ task_id: 'produce', state: 'success' }, { task_id: 'check', state: run.state === 'success' ? 'success' : 'running' }] });
      return send(200, { dag_run_id: runId, state: run.state });
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  });
}

let airflow: FakeAirflow;
beforeEach(async () => { airflow = await fakeAirflow(); });
afterEach(async () => airflow.close());

const env = (password = PASSWORD) => ({ url: airflow.url, username: 'admin', password: async () => password });
const runDag = { action: 'runDag', dagId: 'integ_smoke', runId: 'integ-test' };

test('health returns the HTTP status and the body of /api/v2/monitor/health, without logging in', async () => {
  const result = await probe({ action: 'health' }, env());
  expect(result).toEqual({ httpStatus: 200, health: expect.objectContaining({ metadatabase: { status: 'healthy' } }) });
  expect(airflow.requests).toEqual(['GET /api/v2/monitor/health']);
});

test('before the DAG is parsed, runDag reports it with the import errors and starts nothing', async () => {
  const result = await probe(runDag, env());
  expect(result).toEqual({ dagId: 'integ_smoke', runId: 'integ-test', state: 'dag-not-parsed', importErrors: ['/opt/airflow/dags/broken.py: File x NameError: oops'] });
  expect(airflow.requests.filter(r => r.startsWith('POST /api/v2/dags'))).toEqual([]);
});

test('runDag unpauses the DAG, starts the run once, and reports its state on every later call', async () => {
  airflow.parsed = true;
  const first = await probe(runDag, env());
  expect(first).toMatchObject({ state: 'queued', tasks: ['check=running', 'produce=success'] });
  expect(airflow.paused).toBe(false);
  await probe(runDag, env());
  airflow.runs.get('integ-test')!.state = 'success';
  const last = await probe(runDag, env());
  expect(last).toEqual({ dagId: 'integ_smoke', runId: 'integ-test', state: 'success', tasks: ['check=success', 'produce=success'] });
  expect(airflow.requests.filter(r => r === 'POST /api/v2/dags/integ_smoke/dagRuns')).toHaveLength(1);
  expect(airflow.requests.filter(r => r === 'PATCH /api/v2/dags/integ_smoke')).toHaveLength(1);
});

test('a wrong admin password fails with the token endpoint\'s answer', async () => {
  airflow.parsed = true;
  await expect(probe(runDag, env('wrong'))).rejects.toThrow(/POST \/auth\/token answered 401: .*Invalid credentials/);
});

test('an unreachable load balancer fails the call (the waiter retries it)', async () => {
  await airflow.close();
  await expect(probe({ action: 'health' }, env())).rejects.toThrow(/fetch failed/);
  airflow = await fakeAirflow();
});

test('an unknown action or a runDag without ids is refused with what to send', async () => {
  await expect(probe({ action: 'dance' }, env())).rejects.toThrow('unknown action "dance"; use "health" or "runDag"');
  await expect(probe({ action: 'runDag', dagId: 'integ_smoke' }, env())).rejects.toThrow(/runDag needs dagId and runId/);
});
