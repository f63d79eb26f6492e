import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import { isSshUrl } from './git-credentials';
import type { GitSyncOptions } from './git-sync-options';
import { isConcrete, Problems } from '../private/validation';

/** Marks props already validated by their owner (`DagSource.gitSync` validates once for every component). */
export const VALIDATED = Symbol('cdk-airflow-ecs.git-sync.validated');

/** A URL without user info, for messages and descriptions. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

export function normalizeSubPath(subPath: string): string {
  return subPath.replace(/^\.\//, '').replace(/\/+$/, '');
}

/** Checks git-sync options; every problem names the prop (after `prefix`), the value and the fix. */
export function validateGitSync(problems: Problems, o: GitSyncOptions, prefix = ''): void {
  const p = (name: string) => `${prefix}${name}`;
  const repo = o.repository ?? '';
  if (!Token.isUnresolved(repo)) {
    const isSsh = isSshUrl(repo);
    const isHttp = /^https?:\/\//.test(repo);
    if (!isSsh && !isHttp) {
      problems.add(`${p('repository')} ('${repo}') is not a git URL; use https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git`);
    }
    if (isHttp && /^https?:\/\/[^/]*@/.test(repo)) {
      problems.add(`${p('repository')} ('${redact(repo)}') contains credentials, which would be stored in plain text in the template; remove them from the URL and pass credentials: GitCredentials.httpsToken({ secret })`);
    }
    if (o.caCertificates && !/^https:\/\//.test(repo)) {
      problems.add(`${p('caCertificates')} is set but ${p('repository')} ('${redact(repo)}') is not an https:// URL; a CA only verifies an HTTPS host: use the https:// URL or remove caCertificates`);
    }
    if (isSsh && !o.credentials) {
      problems.add(`${p('repository')} ('${repo}') is an SSH URL but ${p('credentials')} is not set; pass credentials: GitCredentials.sshKey({ secret, knownHosts }) or use the https:// URL`);
    }
  }
  for (const problem of o.credentials?.problems(repo, prefix) ?? []) problems.add(problem);
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
}
