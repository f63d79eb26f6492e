/**
 * Commands that run inside the git-sync containers (registry.k8s.io/git-sync/git-sync v4.7.1:
 * Debian trixie with bash as /bin/sh, coreutils, grep, sed, curl, git and ssh; no find). They
 * are run for real in test/runtime/git-sync.test.ts.
 */

/** git-sync's user and group in its image. */
export const GIT_SYNC_UID = 65533;

/** Where the shared DAG volume is mounted in the git-sync containers (the image's GITSYNC_ROOT). */
export const GIT_SYNC_ROOT = '/git';

/** Where the SSH key and known_hosts are written for git-sync. */
export const GIT_SECRET_DIR = '/etc/git-secret';

/** The name of the link (inside the root) that points at the current checkout. */
export const GIT_SYNC_LINK = 'repo';

/** git-sync's HTTP endpoint, for the health check (503 until the first sync, then 200). */
export const GIT_SYNC_HTTP_PORT = 8780;

export const PREPARE_ENV = {
  root: 'GITSYNC_ROOT',
  secretDir: 'CDK_GITSYNC_SECRET_DIR',
  sshKey: 'CDK_GITSYNC_SSH_KEY',
  knownHosts: 'CDK_GITSYNC_KNOWN_HOSTS',
  caCertificates: 'CDK_GITSYNC_CA_CERTIFICATES',
} as const;

/** The file with the private CA's certificates, in the secret directory; git reads it through GIT_SSL_CAINFO. */
export const GIT_CA_FILE = 'ca-certificates.crt';

/**
 * Runs once per task, as root, before git-sync: Fargate creates bind-mount volumes owned by root
 * with mode 0755, so git-sync (uid 65533) could not write the DAG volume (docs/pitfalls.md, #21). Hand the volume to git-sync's user; Airflow (uid 50000, gid 0) reads
 * what git-sync writes through the "other" permission bits (git-sync's umask is 0022). For SSH,
 * write the private key (an ECS secret) and known_hosts into files only git-sync can read, because
 * git-sync takes SSH keys only as files and Fargate cannot mount secrets as files.
 */
export const PREPARE_SCRIPT = [
  'set -euo pipefail',
  `chown ${GIT_SYNC_UID}:${GIT_SYNC_UID} "$${PREPARE_ENV.root}"`,
  `chmod 0755 "$${PREPARE_ENV.root}"`,
  `if [ -n "\${${PREPARE_ENV.sshKey}:-}" ]; then`,
  `  install -d -m 0700 -o ${GIT_SYNC_UID} -g ${GIT_SYNC_UID} "$${PREPARE_ENV.secretDir}"`,
  `  (umask 077 && printf '%s\\n' "$${PREPARE_ENV.sshKey}" > "$${PREPARE_ENV.secretDir}/ssh")`,
  `  printf '%s\\n' "$${PREPARE_ENV.knownHosts}" > "$${PREPARE_ENV.secretDir}/known_hosts"`,
  `  chown ${GIT_SYNC_UID}:${GIT_SYNC_UID} "$${PREPARE_ENV.secretDir}/ssh" "$${PREPARE_ENV.secretDir}/known_hosts"`,
  `  chmod 0400 "$${PREPARE_ENV.secretDir}/ssh"`,
  `  chmod 0444 "$${PREPARE_ENV.secretDir}/known_hosts"`,
  'fi',
  // a private CA's certificates for an HTTPS host (docs/pitfalls.md, #20): public, but only git-sync's to replace
  `if [ -n "\${${PREPARE_ENV.caCertificates}:-}" ]; then`,
  `  install -d -m 0755 -o ${GIT_SYNC_UID} -g ${GIT_SYNC_UID} "$${PREPARE_ENV.secretDir}"`,
  `  printf '%s\\n' "$${PREPARE_ENV.caCertificates}" > "$${PREPARE_ENV.secretDir}/${GIT_CA_FILE}"`,
  `  chown ${GIT_SYNC_UID}:${GIT_SYNC_UID} "$${PREPARE_ENV.secretDir}/${GIT_CA_FILE}"`,
  `  chmod 0444 "$${PREPARE_ENV.secretDir}/${GIT_CA_FILE}"`,
  'fi',
  `echo "DAG volume $${PREPARE_ENV.root} handed to git-sync (uid ${GIT_SYNC_UID})"`,
].join('\n');

/**
 * The sidecar's health check, in bash alone (no other tool is needed): git-sync's HTTP endpoint
 * answers 200 once a sync has succeeded and while the process is alive and responsive.
 */
export const HEALTH_CHECK_SCRIPT = [
  `exec 3<>/dev/tcp/127.0.0.1/${GIT_SYNC_HTTP_PORT}`,
  "printf 'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3",
  'IFS= read -r status <&3',
  '[[ "$status" == *" 200 "* ]]',
].join(' && ');

/** The synced DAG folder as the Airflow containers see it. */
export function gitSyncDagsFolder(subPath: string | undefined, mountPath: string): string {
  const checkout = `${mountPath}/${GIT_SYNC_LINK}`;
  const sub = subPath?.replace(/^\.\//, '').replace(/\/+$/, '');
  return sub ? `${checkout}/${sub}` : checkout;
}
