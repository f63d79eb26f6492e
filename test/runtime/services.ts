import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { postgresBinDir, PYTHON } from './requirements';

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>(resolve => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cdk-airflow-ecs-${prefix}-`));
}

/** A CA and a server certificate for localhost/127.0.0.1, made with openssl. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ca = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const cert = path.join(dir, 'server.crt');
  const ext = path.join(dir, 'server.ext');
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '1', '-subj', '/CN=cdk-airflow-ecs test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost');
  fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext);
  return { ca, cert, key };
}

export interface PostgresRole { name: string; password: string; database: string }

export interface RunningPostgres { port: number; stop(): void }

/**
 * A throwaway PostgreSQL in a temp dir on a free port that accepts only TLS connections with
 * passwords (scram-sha-256), with the given roles and databases.
 */
export async function startPostgres(roles: PostgresRole[]): Promise<RunningPostgres> {
  const bin = postgresBinDir()!;
  const dir = tempDir('pg');
  const data = path.join(dir, 'data');
  const port = await freePort();
  const isRoot = process.getuid?.() === 0;
  // initdb refuses to run as root: run the server as Debian's postgres user then.
  const asServer = (cmd: string, args: string[], input?: string) => {
    const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    const r = spawnSync(file, argv, { input, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const certs = makeCertificates(dir);
  fs.chmodSync(certs.key, 0o600);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    fs.chownSync(dir, uid, gid);
    for (const f of fs.readdirSync(dir)) fs.chownSync(path.join(dir, f), uid, gid);
  }
  asServer(`${bin}/initdb`, ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--auth-local=trust', '--auth-host=scram-sha-256']);
  fs.writeFileSync(path.join(data, 'pg_hba.conf'), [
    'local all all trust',
    'hostssl all all 127.0.0.1/32 scram-sha-256',
    'hostnossl all all 0.0.0.0/0 reject',
  ].join('\n') + '\n');
  fs.appendFileSync(path.join(data, 'postgresql.conf'), [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'ssl = on',
    `ssl_cert_file = '${certs.cert}'`,
    `ssl_key_file = '${certs.key}'`,
    "password_encryption = 'scram-sha-256'",
    'fsync = off',
  ].join('\n') + '\n');
  asServer(`${bin}/pg_ctl`, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', 'start']);
  const stop = () => {
    spawnSync(isRoot ? 'runuser' : `${bin}/pg_ctl`, isRoot ? ['-u', 'postgres', '--', `${bin}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const sql = roles.flatMap(r => [
      `CREATE ROLE ${ident(r.name)} LOGIN PASSWORD ${literal(r.password)};`,
      `CREATE DATABASE ${ident(r.database)} OWNER ${ident(r.name)};`,
    ]).join('\n');
    asServer(`${bin}/psql`, ['-h', dir, '-p', `${port}`, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'], sql);
  } catch (e) {
    stop();
    throw e;
  }
  return { port, stop };
}

export interface RunningRedis { port: number; caFile: string; stop(): void }

/** A throwaway redis-server that speaks only TLS on a free port, with `requirepass` set. */
export async function startRedisTls(password: string): Promise<RunningRedis> {
  const dir = tempDir('redis');
  const certs = makeCertificates(dir);
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', [
    '--port', '0',
    '--tls-port', `${port}`,
    '--bind', '127.0.0.1',
    '--tls-cert-file', certs.cert,
    '--tls-key-file', certs.key,
    '--tls-ca-cert-file', certs.ca,
    '--tls-auth-clients', 'no',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
  ], { stdio: 'ignore' });
  const stop = () => {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 10_000);
    // Set the password over the wire, so no shell or config-file quoting can alter it.
    const r = spawnSync(PYTHON, ['-c', [
      'import os,redis',
      "c=redis.Redis(host='127.0.0.1',port=int(os.environ['PORT']),ssl=True,ssl_ca_certs=os.environ['CA'])",
      "c.config_set('requirepass',os.environ['PASSWORD'])",
    ].join('\n')], { env: { PORT: `${port}`, CA: certs.ca, PASSWORD: password }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`could not set requirepass: ${r.stderr}`);
  } catch (e) {
    stop();
    throw e;
  }
  return { port, caFile: certs.ca, stop };
}

/** Runs a check of check_runtime.py with exactly the given environment. */
export function runCheck(check: string, env: Record<string, string>): any {
  const r = spawnSync(PYTHON, [path.join(__dirname, 'check_runtime.py'), check], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`check_runtime.py ${check} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** A CloudWatch endpoint that accepts PutMetricData and keeps each request's form. */
export async function fakeCloudWatch(): Promise<{ port: number; requests: URLSearchParams[]; close: () => Promise<unknown> }> {
  const requests: URLSearchParams[] = [];
  const port = await freePort();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', c => body += c);
    req.on('end', () => {
      requests.push(new URLSearchParams(body));
      res.setHeader('Content-Type', 'text/xml');
      res.end('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></PutMetricDataResponse>');
    });
  });
  await new Promise<void>(r => server.listen(port, '127.0.0.1', r));
  return { port, requests, close: () => new Promise(r => server.close(r)) };
}
