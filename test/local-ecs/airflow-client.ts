/**
 * Airflow's REST API through the load balancer, as a user reaches it: the load balancer's DNS name
 * in the Host header, a token from `/auth/token` with the admin's user name and password.
 */
import * as http from 'http';
import * as https from 'https';

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly ip: string;
  readonly port: number;
  readonly host: string;
  readonly path: string;
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly tls?: boolean;
  readonly timeoutMs?: number;
}

/** One HTTP request to an address with a Host header (the closed network has no DNS). */
export function request(options: RequestOptions): Promise<HttpResponse> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const lib = options.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request({
      host: options.ip,
      port: options.port,
      path: options.path,
      method: options.method ?? 'GET',
      servername: options.tls ? options.host : undefined,
      rejectUnauthorized: false,
      headers: {
        Host: options.host,
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': `${Buffer.byteLength(body)}` } : {}),
        ...options.headers,
      },
      timeout: options.timeoutMs ?? 30_000,
    }, res => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', d => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${options.path}: no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export class AirflowClient {
  private token?: string;

  constructor(
    private readonly ip: string,
    private readonly port: number,
    public readonly host: string,
    private readonly username: string,
    private readonly password: string,
    private readonly tls = false,
  ) {}

  public raw(path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return request({ ip: this.ip, port: this.port, host: this.host, path, method, body, headers, tls: this.tls });
  }

  /** A JWT from the FAB auth manager's token endpoint. */
  public async login(): Promise<string> {
    const r = await this.raw('/auth/token', 'POST', { username: this.username, password: this.password });
    if (r.status !== 200 && r.status !== 201) throw new Error(`POST /auth/token: ${r.status} ${r.body.slice(0, 300)}`);
    this.token = JSON.parse(r.body).access_token;
    if (!this.token) throw new Error(`POST /auth/token returned no access_token: ${r.body.slice(0, 300)}`);
    return this.token;
  }

  public async api(path: string, method = 'GET', body?: unknown): Promise<any> {
    if (!this.token) await this.login();
    let r = await this.raw(path, method, body, { Authorization: `Bearer ${this.token}` });
    if (r.status === 401) {
      await this.login();
      r = await this.raw(path, method, body, { Authorization: `Bearer ${this.token}` });
    }
    if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 500)}`);
    return r.body ? JSON.parse(r.body) : undefined;
  }

  /** Unpauses a DAG and starts a run; returns the run id. */
  public async trigger(dagId: string, conf: Record<string, unknown> = {}): Promise<string> {
    await this.api(`/api/v2/dags/${dagId}`, 'PATCH', { is_paused: false });
    const run = await this.api(`/api/v2/dags/${dagId}/dagRuns`, 'POST', { logical_date: new Date().toISOString(), conf });
    return run.dag_run_id;
  }

  public async runState(dagId: string, runId: string): Promise<string> {
    return (await this.api(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`)).state;
  }

  public async taskInstances(dagId: string, runId: string): Promise<any[]> {
    return (await this.api(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances?limit=100`)).task_instances;
  }

  /** The task's log for a try, as text. */
  public async log(dagId: string, runId: string, taskId: string, tryNumber: number): Promise<string> {
    const r = await this.api(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances/${taskId}/logs/${tryNumber}?full_content=true`);
    const content = r.content;
    if (typeof content === 'string') return content;
    return (content as any[]).map(c => (typeof c === 'string' ? c : c.event ?? JSON.stringify(c))).join('\n');
  }

  /** Waits until the run finished; returns its final state. Errors while the API is down (a database restart) are retried. */
  public async waitForRun(dagId: string, runId: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let state: string;
      try {
        state = await this.runState(dagId, runId);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise(r => setTimeout(r, 5000));
        continue;
      }
      if (state === 'success' || state === 'failed') return state;
      if (Date.now() > deadline) {
        const tis = await this.taskInstances(dagId, runId);
        throw new Error(`DAG run ${dagId}/${runId} still ${state} after ${timeoutMs / 1000} s: ${tis.map(t => `${t.task_id}=${t.state}`).join(', ')}`);
      }
      await new Promise(r => setTimeout(r, 3000));
    }
  }

  /** Waits until the DAG processor has parsed the DAG (it is listed by the API). */
  public async waitForDag(dagId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.raw(`/api/v2/dags/${dagId}`, 'GET', undefined, { Authorization: `Bearer ${this.token ?? await this.login()}` });
      if (r.status === 200) return;
      if (Date.now() > deadline) throw new Error(`DAG ${dagId} was not parsed within ${timeoutMs / 1000} s (last answer ${r.status})`);
      await new Promise(res => setTimeout(res, 3000));
    }
  }
}
