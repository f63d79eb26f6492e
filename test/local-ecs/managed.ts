/**
 * Real programs in place of AWS's managed services, each in its own network namespace with the
 * template's security groups: PostgreSQL (TLS only, scram-sha-256) for RDS, redis-server (TLS and
 * AUTH) for ElastiCache, and moto in server mode for S3, CloudWatch and Secrets Manager (outside
 * the VPC, on the bridge's address, as AWS's endpoints are reached through the NAT gateway).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { CertificateAuthority } from './ca';
import { log } from './log';
import { Endpoint } from './network';

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter(v => fs.existsSync(`${root}/${v}/bin/initdb`)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  return `${root}/${versions[0]}/bin`;
}

/** Waits until a TCP port accepts connections (from the host, or from a namespace). */
export async function waitForTcp(ip: string, port: number, timeoutMs: number, namespace?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let open: boolean;
    if (namespace) {
      open = spawnSync('ip', ['netns', 'exec', namespace, '/usr/bin/python3', '-c',
        'import socket,sys;socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2).close()', ip, `${port}`]).status === 0;
    } else {
      open = await new Promise<boolean>(resolve => {
        const s = net.connect(port, ip);
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
      });
    }
    if (open) return;
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`nothing accepts connections on ${ip}:${port} after ${timeoutMs} ms`);
}

/** The RDS instance: PostgreSQL that accepts only TLS connections with scram-sha-256 passwords. */
export class PostgresInstance {
  private readonly data: string;

  constructor(
    public readonly name: string,
    private readonly dir: string,
    public readonly endpoint: Endpoint,
    public readonly hostname: string,
    public readonly port: number,
  ) {
    this.data = path.join(dir, 'data');
  }

  private asPostgres(args: string[], input?: string): string {
    const r = spawnSync('ip', ['netns', 'exec', this.endpoint.namespace, 'runuser', '-u', 'postgres', '--', ...args], { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Creates the cluster once (a later deployment finds its data), then starts the server. */
  public async start(ca: CertificateAuthority, master: { username: string; password: string; database?: string }): Promise<void> {
    const bin = postgresBinDir();
    const fresh = !fs.existsSync(path.join(this.data, 'PG_VERSION'));
    if (fresh) {
      fs.mkdirSync(this.dir, { recursive: true });
      execFileSync('chown', ['postgres:postgres', this.dir]);
      this.asPostgres([`${bin}/initdb`, '-D', this.data, '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--auth-local=trust', '--auth-host=scram-sha-256']);
      const tls = ca.issue(`db-${this.name}`, [this.hostname]);
      for (const f of [tls.cert, tls.key]) {
        fs.copyFileSync(f, path.join(this.data, path.basename(f)));
        execFileSync('chown', ['postgres:postgres', path.join(this.data, path.basename(f))]);
      }
      fs.chmodSync(path.join(this.data, path.basename(tls.key)), 0o600);
      fs.writeFileSync(path.join(this.data, 'pg_hba.conf'), [
        'local all all trust',
        // rds.force_ssl = 1: every network connection must use TLS
        'hostssl all all 0.0.0.0/0 scram-sha-256',
        'hostnossl all all 0.0.0.0/0 reject',
      ].join('\n') + '\n');
      fs.appendFileSync(path.join(this.data, 'postgresql.conf'), [
        `port = ${this.port}`,
        `listen_addresses = '${this.endpoint.ip}'`,
        `unix_socket_directories = '${this.socketDir}'`,
        'ssl = on',
        `ssl_cert_file = '${path.basename(tls.cert)}'`,
        `ssl_key_file = '${path.basename(tls.key)}'`,
        "password_encryption = 'scram-sha-256'",
        'max_connections = 400',
        'fsync = off',
        "log_line_prefix = '%m [%p] %u@%d '",
      ].join('\n') + '\n');
    } else {
      // a later deployment: same data, maybe a new address
      const conf = path.join(this.data, 'postgresql.conf');
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8')
        .replace(/^listen_addresses = .*$/m, `listen_addresses = '${this.endpoint.ip}'`)
        .replace(/^unix_socket_directories = .*$/m, `unix_socket_directories = '${this.socketDir}'`));
    }
    this.startServer();
    if (fresh) {
      const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
      const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
      // the RDS master user: not a superuser, may create databases and roles
      const sql = [
        `CREATE ROLE ${ident(master.username)} LOGIN CREATEDB CREATEROLE PASSWORD ${literal(master.password)};`,
        ...(master.database ? [`CREATE DATABASE ${ident(master.database)} OWNER ${ident(master.username)};`] : []),
      ].join('\n');
      this.asPostgres([`${bin}/psql`, '-h', this.socketDir, '-p', `${this.port}`, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'], sql);
    }
  }

  /**
   * The server's Unix-socket directory: a short path of its own, as a socket path may not exceed
   * 107 bytes and the data directory's path grows with the stack's and the database's ids.
   */
  private get socketDir(): string {
    return `/tmp/local-ecs-pg-${createHash('sha256').update(this.dir).digest('hex').slice(0, 12)}`;
  }

  private startServer(): void {
    fs.mkdirSync(this.socketDir, { recursive: true });
    execFileSync('chown', ['postgres:postgres', this.socketDir]);
    this.asPostgres([`${postgresBinDir()}/pg_ctl`, '-D', this.data, '-l', path.join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  /** Stops the server (fast shutdown: connections are closed), as an RDS reboot does. */
  public stop(): void {
    spawnSync('ip', ['netns', 'exec', this.endpoint.namespace, 'runuser', '-u', 'postgres', '--', `${postgresBinDir()}/pg_ctl`, '-D', this.data, '-m', 'fast', '-w', 'stop']);
  }

  public restart(): void {
    this.stop();
    this.startServer();
  }

  /** Runs SQL as the server's superuser, for scenarios that inspect or prepare the database. */
  public sql(database: string, sql: string): string {
    return this.asPostgres([`${postgresBinDir()}/psql`, '-h', this.socketDir, '-p', `${this.port}`, '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-qAt'], sql);
  }

  public logFile(): string {
    return path.join(this.dir, 'server.log');
  }
}

/** The ElastiCache replication group: redis-server speaking only TLS, with the AUTH token. */
export class ValkeyInstance {
  public static binary(): string {
    for (const b of ['valkey-server', 'redis-server']) {
      if (spawnSync('sh', ['-c', `command -v ${b}`]).status === 0) return b;
    }
    throw new Error('neither valkey-server nor redis-server is installed (apt-get install redis-server)');
  }

  private child?: ChildProcess;

  constructor(
    public readonly name: string,
    private readonly dir: string,
    public readonly endpoint: Endpoint,
    public readonly hostname: string,
    public readonly port: number,
  ) {}

  public async start(ca: CertificateAuthority, authToken: string | undefined): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const tls = ca.issue(`broker-${this.name}`, [this.hostname]);
    const conf = path.join(this.dir, 'server.conf');
    const lines = [
      'port 0',
      `tls-port ${this.port}`,
      `bind ${this.endpoint.ip}`,
      `tls-cert-file ${tls.cert}`,
      `tls-key-file ${tls.key}`,
      `tls-ca-cert-file ${ca.certFile}`,
      'tls-auth-clients no',
      'save ""',
      'appendonly no',
      `dir ${this.dir}`,
    ];
    // the token goes into a file only root reads, never onto a command line
    if (authToken !== undefined) lines.push(`requirepass "${authToken.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
    fs.writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 });
    const out = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    this.child = spawn('ip', ['netns', 'exec', this.endpoint.namespace, ValkeyInstance.binary(), conf], { stdio: ['ignore', out, out] });
    await waitForTcp(this.endpoint.ip, this.port, 15_000, this.endpoint.namespace);
  }

  public stop(): void {
    this.child?.kill('SIGKILL');
  }
}

/** moto in server mode: S3, CloudWatch and Secrets Manager as the tasks' AWS. */
export class Moto {
  private child?: ChildProcess;
  public readonly url: string;

  constructor(private readonly tools: string, private readonly dir: string, public readonly ip: string, public readonly port: number) {
    this.url = `http://${ip}:${port}`;
  }

  public async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const out = fs.openSync(path.join(this.dir, 'moto.log'), 'a');
    this.child = spawn(path.join(this.tools, 'bin', 'moto_server'), ['-H', this.ip, '-p', `${this.port}`], { stdio: ['ignore', out, out] });
    await waitForTcp(this.ip, this.port, 30_000);
    log(`moto (S3, CloudWatch, Secrets Manager) on ${this.url}`);
  }

  /** Runs boto3 code against moto: `code` sees `session` (region set) and `args` (a JSON value); it prints its answer as JSON. */
  public python(code: string, args: unknown, region: string): any {
    const program = [
      'import json, sys, boto3',
      `session = boto3.session.Session(aws_access_key_id='local', aws_secret_access_key='local', region_name=${JSON.stringify(region)})`,
      `client = lambda service: session.client(service, endpoint_url=${JSON.stringify(this.url)})`,
      'args = json.loads(sys.argv[1])',
      code,
    ].join('\n');
    const r = spawnSync(path.join(this.tools, 'bin', 'python'), ['-c', program, JSON.stringify(args)], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`boto3 against moto failed: ${r.stderr}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  }

  public stop(): void {
    this.child?.kill('SIGKILL');
  }
}
