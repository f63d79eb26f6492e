/**
 * The Application Load Balancer: nginx in the load balancer's namespace (with its security group)
 * for the listeners, and target-group health checks run from that namespace as the ALB runs them
 * (path, matcher, interval, timeout, healthy and unhealthy thresholds). Only healthy targets get
 * requests (all registered ones if none is healthy, as an ALB fails open); requests carry the
 * X-Forwarded-For, -Proto and -Port headers an ALB adds, and the client's Host.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CertificateAuthority } from './ca';
import { log } from './log';
import { Endpoint } from './network';

export interface HealthCheckSpec {
  readonly path: string;
  readonly port?: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly matcher: string;
}

export interface TargetGroupSpec {
  readonly arn: string;
  readonly name: string;
  readonly port: number;
  readonly healthCheck: HealthCheckSpec;
  readonly deregistrationDelaySeconds: number;
}

export interface ListenerSpec {
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  /** Forward to this target group ... */
  readonly targetGroupArn?: string;
  /** ... or redirect to HTTPS on this port. */
  readonly redirectToHttpsPort?: number;
}

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

export interface Target {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  state: TargetState;
  passes: number;
  failures: number;
  lastReason?: string;
  healthySince?: number;
}

/** Whether an HTTP status matches an ALB matcher such as `200`, `200,202` or `200-299`. */
export function matches(matcher: string, status: number): boolean {
  return matcher.split(',').some(part => {
    const [lo, hi] = part.trim().split('-').map(Number);
    return hi === undefined ? status === lo : status >= lo && status <= hi;
  });
}

export class LoadBalancer {
  private child?: ChildProcess;
  private readonly targets = new Map<string, Map<string, Target>>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly conf: string;

  constructor(
    public readonly name: string,
    private readonly dir: string,
    public readonly endpoint: Endpoint,
    public readonly dnsName: string,
    public readonly listeners: ListenerSpec[],
    public readonly targetGroups: TargetGroupSpec[],
  ) {
    this.conf = path.join(dir, 'nginx.conf');
    for (const tg of targetGroups) this.targets.set(tg.arn, new Map());
  }

  /** Starts nginx; an HTTPS listener's certificate names the load balancer and `domainNames` (the app's own domain). */
  public async start(ca: CertificateAuthority, domainNames: string[] = []): Promise<void> {
    fs.mkdirSync(path.join(this.dir, 'tmp'), { recursive: true, mode: 0o777 });
    fs.chmodSync(path.join(this.dir, 'tmp'), 0o777);
    if (this.listeners.some(l => l.protocol === 'HTTPS')) {
      const tls = ca.issue(`lb-${this.name}`, [...new Set([this.dnsName, ...domainNames])]);
      fs.copyFileSync(tls.cert, path.join(this.dir, 'tls.crt'));
      fs.copyFileSync(tls.key, path.join(this.dir, 'tls.key'));
    }
    this.writeConfig();
    const out = fs.openSync(path.join(this.dir, 'nginx.out'), 'a');
    this.child = spawn('ip', ['netns', 'exec', this.endpoint.namespace, 'nginx', '-c', this.conf, '-p', this.dir, '-g', 'daemon off;'], { stdio: ['ignore', out, out] });
    for (const tg of this.targetGroups) {
      const timer = setInterval(() => void this.checkAll(tg), tg.healthCheck.intervalSeconds * 1000);
      this.timers.push(timer);
    }
    log(`load balancer ${this.dnsName} on ${this.endpoint.ip} (${this.listeners.map(l => `${l.protocol} ${l.port}`).join(', ')})`);
  }

  public register(targetGroupArn: string, id: string, ip: string, port: number): void {
    const group = this.group(targetGroupArn);
    group.set(id, { id, ip, port, state: 'initial', passes: 0, failures: 0 });
    const tg = this.targetGroups.find(t => t.arn === targetGroupArn)!;
    void this.checkAll(tg);
  }

  /** Stops sending new requests to the target; it leaves the group after the deregistration delay. */
  public async deregister(targetGroupArn: string, id: string): Promise<void> {
    const group = this.group(targetGroupArn);
    const target = group.get(id);
    if (!target) return;
    target.state = 'draining';
    this.writeConfig();
    this.reload();
    const tg = this.targetGroups.find(t => t.arn === targetGroupArn)!;
    await new Promise(r => setTimeout(r, tg.deregistrationDelaySeconds * 1000));
    group.delete(id);
  }

  public health(targetGroupArn: string): Target[] {
    return [...this.group(targetGroupArn).values()];
  }

  private group(arn: string): Map<string, Target> {
    const g = this.targets.get(arn);
    if (!g) throw new Error(`load balancer ${this.name} has no target group ${arn}`);
    return g;
  }

  private async checkAll(tg: TargetGroupSpec): Promise<void> {
    if (this.stopped) return;
    let changed = false;
    for (const t of this.group(tg.arn).values()) {
      if (t.state === 'draining') continue;
      const before = t.state;
      const { ok, reason } = await this.check(tg, t);
      if (ok) {
        t.passes++;
        t.failures = 0;
        if (t.state === 'initial' || (t.state === 'unhealthy' && t.passes >= tg.healthCheck.healthyThreshold)) {
          t.state = 'healthy';
          t.healthySince = Date.now();
        }
      } else {
        t.failures++;
        t.passes = 0;
        t.lastReason = reason;
        if (t.failures >= tg.healthCheck.unhealthyThreshold) t.state = 'unhealthy';
      }
      if (t.state !== before) {
        changed = true;
        log(`target ${t.id} (${t.ip}:${t.port}) of ${tg.name}: ${before} -> ${t.state}${t.state === 'unhealthy' ? ` (${t.lastReason})` : ''}`);
      }
    }
    if (changed) {
      this.writeConfig();
      this.reload();
    }
  }

  /** One health check, from the load balancer's namespace, as the ALB sends it. */
  private check(tg: TargetGroupSpec, t: Target): Promise<{ ok: boolean; reason?: string }> {
    const port = tg.healthCheck.port ?? t.port;
    return new Promise(resolve => {
      const p = spawn('ip', ['netns', 'exec', this.endpoint.namespace, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
        '--max-time', `${tg.healthCheck.timeoutSeconds}`, '-H', 'User-Agent: ELB-HealthChecker/2.0',
        `http://${t.ip}:${port}${tg.healthCheck.path}`], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout!.on('data', d => { out += d; });
      p.on('close', code => {
        const status = Number(out.trim());
        if (code === 28) resolve({ ok: false, reason: 'Target.Timeout' });
        else if (code !== 0 || !status) resolve({ ok: false, reason: `Target.FailedHealthChecks (curl exit ${code})` });
        else if (!matches(tg.healthCheck.matcher, status)) resolve({ ok: false, reason: `Target.ResponseCodeMismatch (${status})` });
        else resolve({ ok: true });
      });
    });
  }

  private writeConfig(): void {
    const servers: string[] = [];
    const upstreams: string[] = [];
    for (const tg of this.targetGroups) {
      const all = [...this.group(tg.arn).values()].filter(t => t.state !== 'draining');
      const healthy = all.filter(t => t.state === 'healthy');
      const routed = healthy.length > 0 ? healthy : all; // fail open, as an ALB does
      if (routed.length > 0) {
        upstreams.push(`  upstream ${upstreamName(tg)} {\n${routed.map(t => `    server ${t.ip}:${t.port};`).join('\n')}\n    keepalive 8;\n  }`);
      }
    }
    for (const l of this.listeners) {
      const tls = l.protocol === 'HTTPS';
      const listen = `    listen ${this.endpoint.ip}:${l.port}${tls ? ' ssl' : ''};`;
      const tlsLines = tls ? `    ssl_certificate ${this.dir}/tls.crt;\n    ssl_certificate_key ${this.dir}/tls.key;\n    ssl_protocols TLSv1.2 TLSv1.3;\n` : '';
      let body: string;
      if (l.redirectToHttpsPort !== undefined) {
        body = `    location / { return 301 https://$host:${l.redirectToHttpsPort}$request_uri; }`;
      } else {
        const tg = this.targetGroups.find(t => t.arn === l.targetGroupArn);
        const hasTargets = tg && upstreams.some(u => u.includes(`upstream ${upstreamName(tg)} `));
        body = !tg || !hasTargets
          ? '    location / { return 503; }'
          : [
            '    location / {',
            `      proxy_pass http://${upstreamName(tg)};`,
            '      proxy_http_version 1.1;',
            '      proxy_set_header Connection "";',
            '      proxy_set_header Host $http_host;',
            '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
            `      proxy_set_header X-Forwarded-Proto ${tls ? 'https' : 'http'};`,
            `      proxy_set_header X-Forwarded-Port ${l.port};`,
            '      proxy_set_header X-Amzn-Trace-Id "Root=1-$request_id";',
            '      proxy_read_timeout 60s;',
            '      proxy_buffering off;',
            '    }',
          ].join('\n');
      }
      servers.push(`  server {\n${listen}\n${tlsLines}${body}\n  }`);
    }
    fs.writeFileSync(this.conf, [
      'worker_processes 1;',
      'user nobody nogroup;',
      `pid ${this.dir}/nginx.pid;`,
      `error_log ${this.dir}/error.log warn;`,
      'events { worker_connections 512; }',
      'http {',
      `  access_log ${this.dir}/access.log;`,
      `  client_body_temp_path ${this.dir}/tmp/body;`,
      `  proxy_temp_path ${this.dir}/tmp/proxy;`,
      '  client_max_body_size 50m;',
      ...upstreams,
      ...servers,
      '}',
    ].join('\n') + '\n');
  }

  private reload(): void {
    if (!this.child || this.stopped) return;
    spawnSync('nginx', ['-c', this.conf, '-p', this.dir, '-s', 'reload']);
  }

  public stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.child) spawnSync('nginx', ['-c', this.conf, '-p', this.dir, '-s', 'stop']);
    this.child?.kill('SIGKILL');
  }
}

function upstreamName(tg: TargetGroupSpec): string {
  return `tg_${tg.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}
