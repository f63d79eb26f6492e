import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { GitCredentials } from './git-credentials';

/**
 * What to sync and how.
 */
export interface GitSyncOptions {
  /**
   * The repository URL: `https://host/org/repo.git`, `ssh://git@host/org/repo.git` or
   * `git@host:org/repo.git`. Never put credentials in it; use `credentials`.
   */
  readonly repository: string;

  /**
   * The branch to follow. Mutually exclusive with `revision`.
   *
   * @default - the repository's default branch (HEAD)
   */
  readonly branch?: string;

  /**
   * A tag or commit to pin instead of following a branch. Mutually exclusive with `branch`.
   *
   * @default - follow `branch`
   */
  readonly revision?: string;

  /**
   * The folder inside the repository that holds the DAGs, for example `dags`.
   *
   * @default - the repository root
   */
  readonly subPath?: string;

  /**
   * How often to check the repository for changes.
   *
   * @default Duration.seconds(60)
   */
  readonly period?: Duration;

  /**
   * How many commits of history to fetch; 0 fetches all.
   *
   * @default 1
   */
  readonly depth?: number;

  /**
   * Consecutive failed syncs the long-running sidecar tolerates before it exits, which stops the
   * task so that ECS replaces it. -1 retries forever: Airflow keeps running the DAGs it has while
   * the repository is unreachable, and the `syncErrorsAlarm` tells you.
   *
   * @default -1
   */
  readonly maxFailures?: number;

  /**
   * Credentials for a private repository.
   *
   * @default - none: a public HTTPS repository
   */
  readonly credentials?: GitCredentials;

  /**
   * The certificates (PEM, one or more) of the certificate authority that signed an HTTPS git
   * host's certificate, for a host behind a private CA, as an ECS secret: a Secrets Manager
   * secret (`ecs.Secret.fromSecretsManager(secret)`) or an SSM parameter
   * (`ecs.Secret.fromSsmParameter(parameter)`). The root step writes them to a file only the task's
   * git-sync containers see, and git trusts them through `GIT_SSL_CAINFO`, in place of the image's
   * public CAs: include those CAs too if the same bundle must also reach public hosts.
   *
   * @default - the public CAs of the git-sync image
   */
  readonly caCertificates?: ecs.Secret;

  /**
   * The git-sync image; keep it on git-sync v4. Used as given (not copied to ECR).
   *
   * @default - `registry.k8s.io/git-sync/git-sync:v4.7.1`, copied into ECR by the `imageMirror`
   */
  readonly image?: ecs.ContainerImage;
}
