import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import { isConcrete, Problems } from './validation';
import type { GitSyncOptions } from '../git-sync/git-sync-sidecar';

/** A URL without user info, for messages and descriptions. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

export function normalizeSubPath(subPath: string): string {
  return subPath.replace(/^\.\//, '').replace(/\/+$/, '');
}

const SSH_SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)/;

/** Checks git-sync options; every problem names the prop, the value and the fix. */
export function validateGitSync(o: GitSyncOptions, prefix = ''): void {
  const problems = new Problems();
  const p = (name: string) => `${prefix}${name}`;
  const repo = o.repository ?? '';
  const isSsh = repo.startsWith('ssh://') || SSH_SCP_LIKE.test(repo);
  const isHttps = repo.startsWith('https://');
  const isHttp = repo.startsWith('http://');
  if (!Token.isUnresolved(repo)) {
    if (!isSsh && !isHttps && !isHttp) {
      problems.add(`${p('repository')} ('${repo}') is not a git URL; use https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git`);
    }
    if ((isHttps || isHttp) && /^https?:\/\/[^/]*@/.test(repo)) {
      problems.add(`${p('repository')} ('${redact(repo)}') contains credentials, which would be stored in plain text in the template; remove them from the URL and pass credentials: GitCredentials.httpsToken({ secret })`);
    }
    if (isSsh && o.credentials?.kind !== 'ssh') {
      problems.add(`${p('repository')} ('${repo}') is an SSH URL but ${p('credentials')} is ${o.credentials ? 'an HTTPS token' : 'not set'}; pass credentials: GitCredentials.sshKey({ secret, knownHosts }) or use the https:// URL`);
    }
    if (!isSsh && o.credentials?.kind === 'ssh') {
      problems.add(`${p('credentials')} is an SSH key but ${p('repository')} ('${repo}') is not an SSH URL; use the ssh://git@host/org/repo.git form or GitCredentials.httpsToken`);
    }
    if (isHttp && o.credentials?.kind === 'https') {
      problems.add(`${p('repository')} ('${repo}') is plain http://, so the token would cross the network unencrypted; use https://`);
    }
  }
  if (o.credentials?.kind === 'ssh') {
    const kh = o.credentials.knownHosts ?? '';
    if (!Token.isUnresolved(kh) && !/^\S+\s+(ssh-|ecdsa-|sk-)\S*\s+\S+/m.test(kh)) {
      problems.add(`${p('credentials')} knownHosts ('${kh.slice(0, 40)}') has no host key line; pass the output of \`ssh-keyscan <host>\` (git-sync refuses unknown hosts)`);
    }
  }
  if (o.credentials?.kind === 'https' && o.credentials.username !== undefined && !/^[^\s:@/]+$/.test(o.credentials.username)) {
    problems.add(`${p('credentials')} username ('${o.credentials.username}') must not contain spaces, ':', '@' or '/'`);
  }
  if (o.branch !== undefined && o.revision !== undefined) {
    problems.add(`${p('branch')} ('${o.branch}') and ${p('revision')} ('${o.revision}') are mutually exclusive; follow a branch or pin a revision, not both`);
  }
  for (const [name, ref] of [['branch', o.branch], ['revision', o.revision]] as const) {
    if (ref !== undefined && !Token.isUnresolved(ref) && (!/^[A-Za-z0-9._/+-]+$/.test(ref) || ref.includes('..') || ref.startsWith('-'))) {
      problems.add(`${p(name)} ('${ref}') is not a valid git ref; use a branch or tag name such as 'main' or 'v1.2.0', or a commit SHA`);
    }
  }
  if (o.subPath !== undefined && !Token.isUnresolved(o.subPath)) {
    const parts = normalizeSubPath(o.subPath).split('/');
    if (o.subPath.startsWith('/') || o.subPath.includes('\\') || parts.includes('..') || o.subPath.trim() === '') {
      problems.add(`${p('subPath')} ('${o.subPath}') must be a relative path inside the repository, such as 'dags' or 'airflow/dags' (no leading '/', no '..')`);
    } else if (path.posix.normalize(normalizeSubPath(o.subPath)) !== normalizeSubPath(o.subPath)) {
      problems.add(`${p('subPath')} ('${o.subPath}') is not a normalized path; write it as '${path.posix.normalize(o.subPath)}'`);
    }
  }
  if (o.period !== undefined && !o.period.isUnresolved()) {
    const ms = o.period.toMilliseconds();
    if (ms < 1000) {
      problems.add(`${p('period')} (${ms} ms) is below one second; git-sync would hammer the git server. Use Duration.seconds(10) or more`);
    } else if (ms % 1000 !== 0) {
      problems.add(`${p('period')} (${ms} ms) must be whole seconds`);
    }
  }
  if (isConcrete(o.depth) && (!Number.isInteger(o.depth) || o.depth < 0)) {
    problems.add(`${p('depth')} (${o.depth}) must be a whole number >= 0 (0 fetches all history)`);
  }
  if (isConcrete(o.maxFailures) && (!Number.isInteger(o.maxFailures) || o.maxFailures < -1)) {
    problems.add(`${p('maxFailures')} (${o.maxFailures}) must be a whole number >= -1 (-1 retries forever)`);
  }
  problems.throwIfAny('git-sync');
}
