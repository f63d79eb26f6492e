import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';

/** Debian's python3: apt's Python packages are installed for it, not for other pythons on PATH. */
export const PYTHON = '/usr/bin/python3';

/** What the runtime tests need, as Debian packages. */
export const DEBIAN_PACKAGES = [
  'postgresql', 'redis-server', 'openssl', 'git', 'util-linux', 'curl',
  'python3-sqlalchemy', 'python3-psycopg2', 'python3-asyncpg', 'python3-greenlet',
  'python3-cryptography', 'python3-redis', 'python3-kombu', 'python3-celery', 'python3-boto3',
];

export const INSTALL_COMMAND = `apt-get update && apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES.join(' ')}`;

export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter(v => fs.existsSync(`${root}/${v}/bin/initdb`)).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? `${root}/${versions[0]}/bin` : undefined;
}

/** What is missing, as human-readable items; empty when everything is there. */
export function missingRequirements(): string[] {
  const missing: string[] = [];
  if (!postgresBinDir()) missing.push('PostgreSQL server (initdb, pg_ctl)');
  for (const bin of ['redis-server', 'openssl', 'git', 'setpriv', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) missing.push(bin);
  }
  if (!fs.existsSync(PYTHON)) {
    missing.push(PYTHON);
  } else {
    const modules = ['sqlalchemy', 'psycopg2', 'asyncpg', 'greenlet', 'cryptography', 'redis', 'kombu', 'celery', 'boto3'];
    const r = spawnSync(PYTHON, ['-c', 'import importlib.util,sys;print(\' \'.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))', ...modules], { encoding: 'utf8' });
    const absent = r.stdout.trim();
    if (r.status !== 0) missing.push(`python modules (check failed: ${r.stderr})`);
    else if (absent) missing.push(...absent.split(' ').map(m => `python module ${m}`));
  }
  return missing;
}

/**
 * Installs what is missing with apt when we are root on Debian (CI and the dev machines);
 * otherwise fails with the exact command to run. Never skips.
 */
export function ensureRequirements(): void {
  let missing = missingRequirements();
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && fs.existsSync('/usr/bin/apt-get')) {
    process.stderr.write(`runtime tests: installing ${missing.join(', ')} with apt-get (once per machine)...\n`);
    execFileSync('sh', ['-c', INSTALL_COMMAND], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    missing = missingRequirements();
    if (missing.length === 0) return;
  }
  throw new Error(`The runtime tests need ${missing.join(', ')}. Install them with:\n  sudo sh -c '${INSTALL_COMMAND}'`);
}
