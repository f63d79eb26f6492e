/**
 * What the local ECS runtime needs from the machine: root (namespaces, mounts, cgroups) and Debian
 * packages. As root on Debian it installs what is missing; otherwise it fails with the exact
 * command. It never skips.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';

/** Commands and the Debian packages that provide them. */
const COMMANDS: Record<string, string> = {
  'ip': 'iproute2',
  'nft': 'nftables',
  'nsenter': 'util-linux',
  'setpriv': 'util-linux',
  'nginx': 'nginx-light',
  'redis-server': 'redis-server',
  'chromium': 'chromium',
  'curl': 'curl',
  'openssl': 'openssl',
  'git': 'git',
  'runuser': 'util-linux',
};

export const INSTALL_PACKAGES = ['iproute2', 'nftables', 'util-linux', 'nginx-light', 'redis-server', 'postgresql', 'chromium', 'curl', 'openssl', 'git', 'python3-venv', 'ca-certificates'];
export const INSTALL_COMMAND = `apt-get update && apt-get install -y --no-install-recommends ${INSTALL_PACKAGES.join(' ')}`;

function missing(): string[] {
  const out = Object.entries(COMMANDS).filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0).map(([cmd, pkg]) => `${cmd} (${pkg})`);
  if (!fs.existsSync('/usr/lib/postgresql') || !fs.readdirSync('/usr/lib/postgresql').some(v => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))) out.push('PostgreSQL server (postgresql)');
  if (spawnSync('/usr/bin/python3', ['-c', 'import ensurepip, venv']).status !== 0) out.push('python3 venv (python3-venv)');
  return out;
}

export function ensureRequirements(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the local ECS runtime needs root (network namespaces, mounts, cgroups); run it as root: sudo npm run e2e');
  }
  let absent = missing();
  if (absent.length === 0) return;
  if (fs.existsSync('/usr/bin/apt-get')) {
    process.stderr.write(`local ECS runtime: installing ${absent.join(', ')} with apt-get (once per machine)...\n`);
    execFileSync('sh', ['-c', INSTALL_COMMAND], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    absent = missing();
    if (absent.length === 0) return;
  }
  throw new Error(`the local ECS runtime needs ${absent.join(', ')}; install them with:\n  ${INSTALL_COMMAND}`);
}
