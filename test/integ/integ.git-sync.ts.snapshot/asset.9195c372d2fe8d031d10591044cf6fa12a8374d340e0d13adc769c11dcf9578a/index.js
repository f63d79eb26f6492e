'use strict';
/**
 * The integ tests' probe (test/integ/airflow-assertions.ts): a Lambda function in the deployment's
 * VPC, the only place the examples' internal load balancer answers. integ-tests-alpha invokes it
 * from its assertion provider (which runs outside the VPC) and polls it with waitForAssertions.
 *
 * Events, and what the function returns:
 *   { "action": "health" }
 *     -> { httpStatus, health }: GET /api/v2/monitor/health (no login needed)
 *   { "action": "runDag", "dagId": "...", "runId": "..." }
 *     -> { dagId, runId, state, tasks }: logs in with the admin user, unpauses the DAG, starts the
 *        run `runId` unless it exists, and reports its state. Idempotent: every call after the
 *        first reports the same run, so the waiter can call it until the state is `success`.
 *        Before the DAG is parsed the state is `dag-not-parsed` (with the import errors).
 *
 * Environment: AIRFLOW_URL (the load balancer's URL), ADMIN_USERNAME and
 * ADMIN_PASSWORD_SECRET_ARN (the storage's admin password secret). Plain JavaScript for the
 * Lambda Node.js runtime: fetch is built in, and so is the AWS SDK v3.
 */

const REQUEST_TIMEOUT_MS = 10_000;

/** One JSON request to Airflow; never throws for an HTTP status, only for an unreachable server. */
async function request(baseUrl, path, { method = 'GET', body, token } = {}) {
  const response = await fetch(`${baseUrl.replace(/\/$/, '')}${path}`, {
    method,
    headers: {
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text: text.slice(0, 500) };
}

async function health(baseUrl) {
  const r = await request(baseUrl, '/api/v2/monitor/health');
  return { httpStatus: r.status, health: r.json ?? r.text };
}

async function login(baseUrl, username, password) {
  const r = await request(baseUrl, '/auth/token', { method: 'POST', body: { username, password } });
  if ((r.status !== 200 && r.status !== 201) || !r.json?.access_token) {
    throw new Error(`POST /auth/token answered ${r.status}: ${r.text}`);
  }
  return r.json.access_token;
}

async function runDag(baseUrl, username, password, dagId, runId) {
  if (!dagId || !runId) throw new Error(`runDag needs dagId and runId, got ${JSON.stringify({ dagId, runId })}`);
  const token = await login(baseUrl, username, password);
  const api = (path, options = {}) => request(baseUrl, path, { ...options, token });
  const dagPath = `/api/v2/dags/${encodeURIComponent(dagId)}`;

  const dag = await api(dagPath);
  if (dag.status === 404) {
    const errors = await api('/api/v2/importErrors?limit=20');
    const importErrors = (errors.json?.import_errors ?? []).map(e => `${e.filename}: ${String(e.stack_trace).trim().split('\n').slice(-2).map(l => l.trim()).join(' ')}`);
    return { dagId, runId, state: 'dag-not-parsed', importErrors };
  }
  if (dag.status !== 200) throw new Error(`GET ${dagPath} answered ${dag.status}: ${dag.text}`);
  if (dag.json.is_paused) {
    const unpause = await api(dagPath, { method: 'PATCH', body: { is_paused: false } });
    if (unpause.status !== 200) throw new Error(`PATCH ${dagPath} answered ${unpause.status}: ${unpause.text}`);
  }

  const runPath = `${dagPath}/dagRuns/${encodeURIComponent(runId)}`;
  let run = await api(runPath);
  if (run.status === 404) {
    run = await api(`${dagPath}/dagRuns`, { method: 'POST', body: { dag_run_id: runId, logical_date: new Date().toISOString() } });
    // 409: another invocation created it in between
    if (run.status === 409) run = await api(runPath);
  }
  if (run.status !== 200) throw new Error(`the DAG run ${dagId}/${runId} answered ${run.status}: ${run.text}`);
  const tis = await api(`${runPath}/taskInstances?limit=100`);
  const tasks = (tis.json?.task_instances ?? []).map(t => `${t.task_id}=${t.state}`).sort();
  return { dagId, runId, state: run.json.state, tasks };
}

/** The probe itself, with the admin password given: what the handler runs, and what tests call. */
async function probe(event, { url, username, password }) {
  switch (event?.action) {
    case 'health':
      return health(url);
    case 'runDag':
      return runDag(url, username, await password(), event.dagId, event.runId);
    default:
      throw new Error(`unknown action ${JSON.stringify(event?.action)}; use "health" or "runDag"`);
  }
}

async function handler(event) {
  const url = process.env.AIRFLOW_URL;
  const username = process.env.ADMIN_USERNAME;
  const password = async () => {
    // the Lambda runtime's AWS SDK v3; required here so that tests can load this file without it
    const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');
    const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: process.env.ADMIN_PASSWORD_SECRET_ARN }));
    return secret.SecretString;
  };
  const result = await probe(event, { url, username, password });
  console.log(JSON.stringify({ event, result }));
  return result;
}

module.exports = { handler, probe };
