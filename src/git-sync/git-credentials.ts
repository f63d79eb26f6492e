import { Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { GIT_SECRET_DIR, PREPARE_ENV } from './commands';
import { DEFAULTS } from '../private/defaults';

/**
 * Options of HTTPS token credentials.
 */
export interface GitHttpsTokenOptions {
  /** The Secrets Manager secret that holds the token (a personal access token, deploy token or app token). */
  readonly secret: secretsmanager.ISecret;

  /**
   * The JSON field of the secret that holds the token.
   *
   * @default - the whole secret string is the token
   */
  readonly field?: string;

  /**
   * The user name sent with the token. GitHub accepts any name with a token; GitLab expects the
   * token's name or `oauth2`; Bitbucket your user name.
   *
   * @default 'git'
   */
  readonly username?: string;
}

/**
 * Options of SSH key credentials.
 */
export interface GitSshKeyOptions {
  /** The Secrets Manager secret that holds the private key (PEM/OpenSSH text). */
  readonly secret: secretsmanager.ISecret;

  /**
   * The JSON field of the secret that holds the key.
   *
   * @default - the whole secret string is the key
   */
  readonly field?: string;

  /**
   * The server's host keys in known_hosts format, for example the output of
   * `ssh-keyscan github.com`. Not secret; required, because git-sync refuses unknown hosts.
   */
  readonly knownHosts: string;
}

/**
 * What credentials add to the git-sync containers.
 */
export interface GitCredentialsConfig {
  /** Environment of the git-sync containers. */
  readonly environment: { [name: string]: string };
  /** Secrets of the git-sync containers. */
  readonly secrets: { [name: string]: ecs.Secret };
  /** Environment of the root container that prepares the task volumes. */
  readonly prepareEnvironment: { [name: string]: string };
  /** Secrets of the root container that prepares the task volumes. */
  readonly prepareSecrets: { [name: string]: ecs.Secret };
  /**
   * Whether git-sync needs a task volume for files only it may read (an SSH key file).
   *
   * @default false
   */
  readonly needsSecretVolume?: boolean;
}

const SSH_URL = /^(ssh:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/))/;

/**
 * How git-sync authenticates to the repository. Nothing secret is put in the template or a plain
 * environment variable.
 */
export abstract class GitCredentials {
  /** A token over HTTPS, passed to git-sync as `GITSYNC_PASSWORD` through an ECS secret. */
  public static httpsToken(options: GitHttpsTokenOptions): GitCredentials {
    return new HttpsTokenCredentials(options);
  }

  /**
   * An SSH private key. Fargate cannot mount secrets as files, so a short-lived init container
   * writes the key (from an ECS secret) to a task volume only git-sync's user can read.
   */
  public static sshKey(options: GitSshKeyOptions): GitCredentials {
    return new SshKeyCredentials(options);
  }

  /**
   * Problems with using these credentials for a repository URL, each naming `prop` (the
   * credentials' prop path) and the fix.
   *
   * @param repository the repository URL
   * @param prop the prop path of the options, such as `dags.`
   */
  public abstract problems(repository: string, prop: string): string[];

  /**
   * The environment, secrets and volumes the git-sync containers need.
   *
   * @param scope the construct that runs git-sync
   */
  public abstract bind(scope: Construct): GitCredentialsConfig;
}

class HttpsTokenCredentials extends GitCredentials {
  constructor(private readonly options: GitHttpsTokenOptions) {
    super();
  }

  public problems(repository: string, prop: string): string[] {
    const out: string[] = [];
    if (!Token.isUnresolved(repository)) {
      if (SSH_URL.test(repository)) {
        out.push(`${prop}repository ('${repository}') is an SSH URL but ${prop}credentials is an HTTPS token; pass credentials: GitCredentials.sshKey({ secret, knownHosts }) or use the https:// URL`);
      }
      if (repository.startsWith('http://')) {
        out.push(`${prop}repository ('${repository}') is plain http://, so the token would cross the network unencrypted; use https://`);
      }
    }
    const username = this.options.username;
    if (username !== undefined && !Token.isUnresolved(username) && !/^[^\s:@/]+$/.test(username)) {
      out.push(`${prop}credentials username ('${username}') must not contain spaces, ':', '@' or '/'`);
    }
    return out;
  }

  public bind(_scope: Construct): GitCredentialsConfig {
    return {
      environment: { GITSYNC_USERNAME: this.options.username ?? DEFAULTS.gitSync.username },
      secrets: { GITSYNC_PASSWORD: ecs.Secret.fromSecretsManager(this.options.secret, this.options.field) },
      prepareEnvironment: {},
      prepareSecrets: {},
    };
  }
}

class SshKeyCredentials extends GitCredentials {
  constructor(private readonly options: GitSshKeyOptions) {
    super();
  }

  public problems(repository: string, prop: string): string[] {
    const out: string[] = [];
    if (!Token.isUnresolved(repository) && !SSH_URL.test(repository)) {
      out.push(`${prop}credentials is an SSH key but ${prop}repository ('${repository}') is not an SSH URL; use the ssh://git@host/org/repo.git form or GitCredentials.httpsToken`);
    }
    const kh = this.options.knownHosts;
    if (!Token.isUnresolved(kh) && !/^\S+\s+(ssh-|ecdsa-|sk-)\S*\s+\S+/m.test(kh)) {
      out.push(`${prop}credentials knownHosts ('${kh.slice(0, 40)}') has no host key line; pass the output of \`ssh-keyscan <host>\` (git-sync refuses unknown hosts)`);
    }
    return out;
  }

  public bind(_scope: Construct): GitCredentialsConfig {
    return {
      environment: {
        GITSYNC_SSH_KEY_FILE: `${GIT_SECRET_DIR}/ssh`,
        GITSYNC_SSH_KNOWN_HOSTS: 'true',
        GITSYNC_SSH_KNOWN_HOSTS_FILE: `${GIT_SECRET_DIR}/known_hosts`,
      },
      secrets: {},
      prepareEnvironment: { [PREPARE_ENV.secretDir]: GIT_SECRET_DIR, [PREPARE_ENV.knownHosts]: this.options.knownHosts },
      prepareSecrets: { [PREPARE_ENV.sshKey]: ecs.Secret.fromSecretsManager(this.options.secret, this.options.field) },
      needsSecretVolume: true,
    };
  }
}

/** Whether a repository URL is an SSH URL (`ssh://…` or `user@host:path`). */
export function isSshUrl(repository: string): boolean {
  return SSH_URL.test(repository);
}
