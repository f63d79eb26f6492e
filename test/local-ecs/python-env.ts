/**
 * Python environments the runtime needs, installed from locks committed in test/local-ecs/locks
 * into a cache keyed by the lock's content: Airflow per release (the "image"), and the tools
 * (moto as the AWS stand-in, boto3 for the scenarios). A second run installs nothing.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { log } from './log';

export const LOCKS = path.join(__dirname, 'locks');

/** Debian's Python: world-readable, so the containers' users (50000, 65533) can run it. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Where environments are cached; readable by every user (the containers run as uid 50000). */
export function cacheRoot(): string {
  return process.env.LOCAL_ECS_CACHE ?? '/var/cache/cdk-airflow-ecs';
}

function sh(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', env: { ...process.env, ...options.env } });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
}

function pythonVersion(): string {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import platform;print(platform.python_version())'], { encoding: 'utf8' }).stdout.trim();
}

/** uv, pinned in locks/uv.txt, installed with pip into its own environment. */
function ensureUv(): string {
  const version = fs.readFileSync(path.join(LOCKS, 'uv.txt'), 'utf8').trim();
  const dir = path.join(cacheRoot(), `uv-${version.replace('uv==', '')}`);
  const uv = path.join(dir, 'bin', 'uv');
  if (fs.existsSync(path.join(dir, '.complete'))) return uv;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(cacheRoot(), { recursive: true, mode: 0o755 });
  sh([SYSTEM_PYTHON, '-m', 'venv', dir]);
  sh([path.join(dir, 'bin', 'pip'), 'install', '--quiet', version]);
  fs.writeFileSync(path.join(dir, '.complete'), '');
  return uv;
}

/**
 * A virtual environment with exactly the packages of a lock (no dependency resolution), made
 * once per lock content and Python version.
 */
export function ensureEnvironment(name: string, lockFile: string): string {
  if (!fs.existsSync(lockFile)) {
    throw new Error(`no lock ${path.relative(process.cwd(), lockFile)}; create it with test/local-ecs/locks/lock.sh`);
  }
  const lock = fs.readFileSync(lockFile, 'utf8');
  const key = crypto.createHash('sha256').update(lock).update(pythonVersion()).digest('hex').slice(0, 16);
  const dir = path.join(cacheRoot(), `${name}-${key}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const uv = ensureUv();
  const started = Date.now();
  log(`installing ${name} from ${path.basename(lockFile)} into ${dir} (once per lock)...`);
  fs.rmSync(dir, { recursive: true, force: true });
  const env = { UV_CACHE_DIR: path.join(cacheRoot(), 'uv-cache'), UV_LINK_MODE: 'copy' };
  sh([uv, 'venv', '--quiet', '--python', SYSTEM_PYTHON, dir], { env });
  sh([uv, 'pip', 'install', '--quiet', '--python', path.join(dir, 'bin', 'python'), '--no-deps', '-r', lockFile], { env });
  sh(['chmod', '-R', 'a+rX', dir]);
  fs.writeFileSync(path.join(dir, '.complete'), `${new Date().toISOString()}\n`);
  log(`installed ${name} in ${Math.round((Date.now() - started) / 1000)} s`);
  return dir;
}

export function airflowLock(version: string): string {
  return path.join(LOCKS, `airflow-${version}.txt`);
}

/** The Airflow release's environment: its `bin/` holds python, airflow, celery and dumb-init. */
export function ensureAirflow(version: string): string {
  const lock = airflowLock(version);
  if (!fs.existsSync(lock)) {
    const known = fs.readdirSync(LOCKS).filter(f => f.startsWith('airflow-')).map(f => f.replace(/^airflow-|\.txt$/g, ''));
    throw new Error(`the local ECS runtime has no lock for Airflow ${version} (it has ${known.join(', ')}); add one with: test/local-ecs/locks/lock.sh airflow ${version}`);
  }
  return ensureEnvironment(`airflow-${version}`, lock);
}

/** moto and boto3. */
export function ensureTools(): string {
  return ensureEnvironment('tools', path.join(LOCKS, 'tools.txt'));
}
