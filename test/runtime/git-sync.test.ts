/**
 * The git-sync containers' own commands, taken from a synthesized task definition and run here
 * for real: the root "prepare" script on a volume that starts out like a fresh Fargate bind mount
 * (root-owned, 0755), then real git as git-sync's uid 65533, then reads as Airflow's uid 50000 /
 * gid 0; and the sidecar's bash health check against an HTTP server answering like git-sync.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AirflowOnEcs, DagSource, GitCredentials } from '../../src';
import { ContainerDef, envOf, taskDefinitions } from '../util';

const KNOWN_HOSTS = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow', {
  dags: DagSource.gitSync({
    repository: 'ssh://git@github.com/acme/dags.git',
    subPath: 'dags',
    credentials: GitCredentials.sshKey({ secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'dags-deploy-key'), knownHosts: KNOWN_HOSTS }),
  }),
});
const worker = taskDefinitions(Template.fromStack(stack))['celery-worker'];
const container = (name: string) => worker.containers.find(c => c.Name === name)!;
const prepare: ContainerDef & { EntryPoint?: string[]; User?: string } = container('git-sync-prepare') as any;
const sidecar = container('git-sync');

const AIRFLOW = ['--reuid=50000', '--regid=0', '--clear-groups'];
const GIT_SYNC = ['--reuid=65533', '--regid=65533', '--clear-groups'];
const as = (ids: string[], cmd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> =>
  spawnSync('setpriv', [...ids, '/bin/bash', '-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', HOME: '/tmp', ...env } });

let dir: string;
let volume: string;
let secretDir: string;
let upstream: string;

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('the git-sync permission tests act as uids 0, 65533 and 50000: run them as root (CI and the dev machines are root)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-gitsync-'));
  fs.chmodSync(dir, 0o755);
  // A repository with a DAG in a sub-folder, readable by git-sync's user.
  upstream = path.join(dir, 'upstream.git');
  const work = path.join(dir, 'work');
  const git = (args: string[], cwd: string) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: dir, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  fs.mkdirSync(path.join(work, 'dags'), { recursive: true });
  fs.writeFileSync(path.join(work, 'dags', 'hello.py'), 'from airflow.sdk import dag\n');
  git(['init', '-q', '-b', 'main'], work);
  git(['add', '.'], work);
  git(['commit', '-q', '-m', 'dags'], work);
  git(['clone', '-q', '--bare', work, upstream], dir);
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  // the "remote" belongs to git-sync's user, so git's safe.directory check passes
  spawnSync('chown', ['-R', '65533:65533', upstream]);
});

beforeEach(() => {
  // a fresh Fargate bind mount: owned by root, mode 0755
  volume = fs.mkdtempSync(path.join(dir, 'volume-'));
  fs.chmodSync(volume, 0o755);
  secretDir = fs.mkdtempSync(path.join(dir, 'secret-'));
  fs.chmodSync(secretDir, 0o755);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runPrepare(sshKey: string | undefined): SpawnSyncReturns<string> {
  expect(prepare.User).toBe('0');
  expect(prepare.EntryPoint).toEqual(['/bin/bash', '-c']);
  const env = { ...envOf(prepare) as Record<string, string>, GITSYNC_ROOT: volume, CDK_GITSYNC_SECRET_DIR: secretDir };
  if (sshKey !== undefined) (env as any).CDK_GITSYNC_SSH_KEY = sshKey;
  // stdin closed: bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are
  return spawnSync('/bin/bash', ['-c', prepare.Command![0]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', ...env } });
}

/** What git-sync does, with git-sync's umask: clone into the root and publish a relative link. */
const GIT_SYNC_LIKE = (root: string) => `umask 0022 && git clone -q ${upstream} ${root}/.worktrees/abc123 && ln -s .worktrees/abc123 ${root}/repo`;

// pitfall #21: git-sync needed root
test('without the prepare step git-sync\'s user cannot write a fresh Fargate volume (the story\'s problem)', () => {
  const r = as(GIT_SYNC, GIT_SYNC_LIKE(volume));
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/Permission denied/);
});

// pitfall #37: Airflow user and root permission conflicts; pitfall #43: Read-only DAG folder broke startup
test('after the prepare step git-sync writes, Airflow reads the DAGs through the link, and cannot write', () => {
  const prepared = runPrepare('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----');
  expect(prepared.stderr).toBe('');
  expect(prepared.status).toBe(0);

  const synced = as(GIT_SYNC, GIT_SYNC_LIKE(volume));
  expect(synced.stderr).toBe('');
  expect(synced.status).toBe(0);

  // Airflow sees the volume at its own mount path; the DAGs folder is <mount>/repo/<subPath>
  const dagsFolder = envOf(container('celery-worker')).AIRFLOW__CORE__DAGS_FOLDER as string;
  expect(dagsFolder).toBe('/opt/airflow/git/repo/dags');
  const local = dagsFolder.replace('/opt/airflow/git', volume);
  const read = as(AIRFLOW, `cat ${local}/hello.py && ls ${local}`);
  expect(read.stderr).toBe('');
  expect(read.stdout).toContain('from airflow.sdk import dag');
  expect(read.stdout).toContain('hello.py');
  expect(as(AIRFLOW, `touch ${local}/new.py`).status).not.toBe(0);
});

test('the SSH key is readable by git-sync only, with known_hosts beside it', () => {
  expect(runPrepare('-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key\n-----END OPENSSH PRIVATE KEY-----').status).toBe(0);
  const key = path.join(secretDir, 'ssh');
  expect((fs.statSync(key).mode % 0o1000).toString(8)).toBe('400');
  expect(fs.statSync(key).uid).toBe(65533);
  expect(as(GIT_SYNC, `cat ${key}`).stdout).toContain('secret-key');
  expect(as(AIRFLOW, `cat ${key}`).status).not.toBe(0);
  expect(as(GIT_SYNC, `cat ${secretDir}/known_hosts`).stdout.trim()).toBe(KNOWN_HOSTS);
  // git-sync looks for them where the prepare step writes them
  expect(envOf(sidecar).GITSYNC_SSH_KEY_FILE).toBe('/etc/git-secret/ssh');
  expect(envOf(sidecar).GITSYNC_SSH_KNOWN_HOSTS_FILE).toBe('/etc/git-secret/known_hosts');
  expect(envOf(prepare).CDK_GITSYNC_SECRET_DIR).toBe('/etc/git-secret');
});

test('without an SSH key the prepare step only hands over the volume', () => {
  expect(runPrepare(undefined).status).toBe(0);
  expect(fs.readdirSync(secretDir)).toEqual([]);
  expect(fs.statSync(volume).uid).toBe(65533);
});

describe('sidecar health check', () => {
  const command = sidecar.HealthCheck!.Command;
  const runCheck = () => new Promise<number | null>(resolve => {
    expect(command.slice(0, 3)).toEqual(['CMD', '/bin/bash', '-c']);
    const child = spawn(command[1], command.slice(2), { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
    child.on('exit', code => resolve(code));
  });
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(envOf(sidecar).GITSYNC_HTTP_BIND as string)![1]);

  test.each([[503, false], [200, true]])('git-sync answering %i is healthy: %s', async (status, healthy) => {
    const server = http.createServer((_req, res) => { res.statusCode = status; res.end(status === 200 ? 'ok' : 'repo is not ready'); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: any) => reject(new Error(`port ${port} is taken on this machine (${e.code}); the test needs it`)));
      server.listen(port, '127.0.0.1', resolve);
    });
    try {
      expect((await runCheck()) === 0).toBe(healthy);
    } finally {
      await new Promise(r => server.close(r));
    }
  });

  test('nothing listening (git-sync gone) is unhealthy', async () => {
    expect(await runCheck()).not.toBe(0);
  });
});

describe('pitfall #20: a git host behind a private CA', () => {
  // the prepare script of an HTTPS deployment whose host's certificate a private CA signed
  const httpsStack = new Stack(new App(), 'Https');
  new AirflowOnEcs(httpsStack, 'Airflow', {
    dags: DagSource.gitSync({
      repository: 'https://git.internal.example/acme/dags.git',
      caCertificates: ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretNameV2(httpsStack, 'Ca', 'git-ca')),
    }),
  });
  const httpsWorker = taskDefinitions(Template.fromStack(httpsStack))['celery-worker'];
  const httpsPrepare: ContainerDef = httpsWorker.containers.find(c => c.Name === 'git-sync-prepare')!;
  const httpsSidecar = httpsWorker.containers.find(c => c.Name === 'git-sync')!;
  let server: ChildProcess | undefined;
  let port = 0;
  let caPem = '';

  beforeAll(async () => {
    // a private CA, a certificate for localhost signed by it, and a "dumb" HTTPS git server
    const pki = path.join(dir, 'pki');
    fs.mkdirSync(pki);
    const openssl = (args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: pki, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
    };
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=Private Test CA']);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
    fs.writeFileSync(path.join(pki, 'san.ext'), 'subjectAltName=DNS:localhost\n');
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
    caPem = fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8');
    // what a dumb HTTP client reads; as the repository's owner, for git's safe.directory check
    const info = as(GIT_SYNC, `git -C ${upstream} update-server-info`);
    if (info.status !== 0) throw new Error(`git update-server-info: ${info.stderr}`);
    const script = [
      'import http.server, ssl, sys, functools',
      `handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory='${dir}')`,
      "httpd = http.server.HTTPServer(('127.0.0.1', 0), handler)",
      'ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)',
      `ctx.load_cert_chain('${pki}/server.crt', '${pki}/server.key')`,
      'httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)',
      'print(httpd.server_address[1], flush=True)',
      'httpd.serve_forever()',
    ].join('\n');
    server = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    port = await new Promise<number>((resolve, reject) => {
      server!.stdout!.once('data', d => resolve(Number(String(d).trim())));
      server!.once('exit', code => reject(new Error(`the HTTPS server exited (${code})`)));
    });
  });

  afterAll(() => server?.kill());

  test('the root step writes the CA\'s certificates for git-sync, and git trusts the host through GIT_SSL_CAINFO', () => {
    expect(Object.keys(envOf(httpsPrepare))).toContain('CDK_GITSYNC_SECRET_DIR');
    expect(httpsPrepare.Secrets!.map(s => s.Name)).toContain('CDK_GITSYNC_CA_CERTIFICATES');
    const env = {
      ...envOf(httpsPrepare) as Record<string, string>,
      GITSYNC_ROOT: volume,
      CDK_GITSYNC_SECRET_DIR: secretDir,
      CDK_GITSYNC_CA_CERTIFICATES: caPem.trim(),
    };
    const prepared = spawnSync('/bin/bash', ['-c', httpsPrepare.Command![0]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', ...env } });
    expect(prepared.stderr).toBe('');
    expect(prepared.status).toBe(0);
    const caInfo = envOf(httpsSidecar).GIT_SSL_CAINFO as string;
    expect(caInfo).toBe('/etc/git-secret/ca-certificates.crt');
    const file = path.join(secretDir, path.basename(caInfo));
    expect(fs.statSync(file).uid).toBe(65533);
    expect((fs.statSync(file).mode % 0o1000).toString(8)).toBe('444');
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(caPem.trim());

    const url = `https://localhost:${port}/upstream.git`;
    // the image's public CAs do not know the private one: the story's failure
    const untrusted = as(GIT_SYNC, `git ls-remote ${url}`);
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate|SSL/i);
    // with the file the root step wrote, git-sync's user clones over HTTPS
    const cloned = as(GIT_SYNC, `umask 0022 && git clone -q ${url} ${volume}/.worktrees/abc && ls ${volume}/.worktrees/abc/dags`, { GIT_SSL_CAINFO: file });
    expect(cloned.stderr).toBe('');
    expect(cloned.stdout).toContain('hello.py');
  });
});
