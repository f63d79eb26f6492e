import { Duration, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  AIRFLOW_GIT_MOUNT, GIT_SECRET_DIR, GIT_SYNC_DEFAULT_IMAGE, GIT_SYNC_UID, GIT_SYNC_HTTP_PORT, GIT_SYNC_LINK, GIT_SYNC_ROOT, gitSyncDagsFolder,
  HEALTH_CHECK_SCRIPT, PREPARE_ENV, PREPARE_SCRIPT,
} from '../private/git-sync-commands';
import { redact, validateGitSync } from '../private/git-sync-validation';

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
 * How git-sync authenticates to the repository. Nothing secret is put in the template or a plain
 * environment variable.
 */
export class GitCredentials {
  /** A token over HTTPS, passed to git-sync as `GITSYNC_PASSWORD` through an ECS secret. */
  public static httpsToken(options: GitHttpsTokenOptions): GitCredentials {
    return new GitCredentials('https', options.secret, options.field, options.username ?? 'git', undefined);
  }

  /**
   * An SSH private key. Fargate cannot mount secrets as files, so a short-lived init container
   * writes the key (from an ECS secret) to a task volume only git-sync's user can read.
   */
  public static sshKey(options: GitSshKeyOptions): GitCredentials {
    return new GitCredentials('ssh', options.secret, options.field, undefined, options.knownHosts);
  }

  /** `https` or `ssh`. */
  public readonly kind: string;
  /** The secret holding the token or key. */
  public readonly secret: secretsmanager.ISecret;
  /** The JSON field in the secret, if any. */
  public readonly field?: string;
  /** The HTTPS user name, for tokens. */
  public readonly username?: string;
  /** The known_hosts lines, for SSH. */
  public readonly knownHosts?: string;

  private constructor(
    kind: string,
    secret: secretsmanager.ISecret,
    field: string | undefined,
    username: string | undefined,
    knownHosts: string | undefined,
  ) {
    this.kind = kind;
    this.secret = secret;
    this.field = field;
    this.username = username;
    this.knownHosts = knownHosts;
  }
}

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
   * The git-sync image. Mirror it to ECR to avoid pulling from registry.k8s.io, and keep it on
   * git-sync v4.
   *
   * @default - `registry.k8s.io/git-sync/git-sync:v4.7.1`
   */
  readonly image?: ecs.ContainerImage;
}

/**
 * Properties of a `GitSyncSidecar`.
 */
export interface GitSyncSidecarProps extends GitSyncOptions {
  /** The task definition to add git-sync to. */
  readonly taskDefinition: ecs.TaskDefinition;

  /**
   * The container that reads the synced files. It gets the volume (read-only), waits for the
   * first sync and, unless `setDagsFolder` is false, `AIRFLOW__CORE__DAGS_FOLDER`.
   */
  readonly container: ecs.ContainerDefinition;

  /**
   * Where `container` sees git-sync's root; the checkout is `<mountPath>/repo`.
   *
   * @default '/opt/airflow/git'
   */
  readonly mountPath?: string;

  /**
   * Set `AIRFLOW__CORE__DAGS_FOLDER` on `container` to the synced DAGs.
   *
   * @default true
   */
  readonly setDagsFolder?: boolean;

  /**
   * The log group of the git-sync containers.
   *
   * @default - a new log group, kept one month
   */
  readonly logGroup?: logs.ILogGroup;
}

/**
 * git-sync v4 on a Fargate task: a root init container that hands the shared volume to
 * git-sync's user (and writes an SSH key file), a one-time git-sync init container that must
 * succeed before the application container starts, and a long-running git-sync sidecar with a
 * health check. The application container mounts the volume read-only.
 */
export class GitSyncSidecar extends Construct {
  /** The root init container that prepares the volume. */
  public readonly prepareContainer: ecs.ContainerDefinition;
  /** The one-time first sync; the application container starts only after it succeeded. */
  public readonly initContainer: ecs.ContainerDefinition;
  /** The long-running sync. */
  public readonly sidecarContainer: ecs.ContainerDefinition;
  /** The synced DAG folder as the application container sees it. */
  public readonly dagsFolder: string;
  /** Failed syncs counted from the git-sync logs. */
  public readonly syncErrorsMetric: cloudwatch.Metric;
  /** In alarm when syncs have failed in each of three consecutive 5-minute periods; add an action to be told. */
  public readonly syncErrorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: GitSyncSidecarProps) {
    super(scope, id);
    validateGitSync(props);
    const mountPath = props.mountPath ?? AIRFLOW_GIT_MOUNT;
    this.dagsFolder = gitSyncDagsFolder(props.subPath, mountPath);
    const image = props.image ?? ecs.ContainerImage.fromRegistry(GIT_SYNC_DEFAULT_IMAGE);
    const logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const logging = (prefix: string) => ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: prefix });
    const creds = props.credentials;

    // Fargate task storage, shared by the containers of one task and gone with it.
    const dagsVolume = 'git-sync-dags';
    props.taskDefinition.addVolume({ name: dagsVolume });
    const secretVolume = 'git-sync-secret';
    if (creds?.kind === 'ssh') props.taskDefinition.addVolume({ name: secretVolume });

    // 1. hand the volume to git-sync's user (root, seconds, non-essential)
    const prepareSecrets: Record<string, ecs.Secret> = creds?.kind === 'ssh'
      ? { [PREPARE_ENV.sshKey]: ecs.Secret.fromSecretsManager(creds.secret, creds.field) }
      : {};
    this.prepareContainer = props.taskDefinition.addContainer('GitSyncPrepare', {
      containerName: 'git-sync-prepare',
      image,
      user: '0',
      entryPoint: ['/bin/bash', '-c'],
      command: [PREPARE_SCRIPT],
      essential: false,
      environment: {
        [PREPARE_ENV.root]: GIT_SYNC_ROOT,
        ...(creds?.kind === 'ssh' ? { [PREPARE_ENV.secretDir]: GIT_SECRET_DIR, [PREPARE_ENV.knownHosts]: creds.knownHosts! } : {}),
      },
      secrets: prepareSecrets,
      logging: logging('git-sync-prepare'),
      memoryReservationMiB: 32,
    });
    this.prepareContainer.addMountPoints({ containerPath: GIT_SYNC_ROOT, sourceVolume: dagsVolume, readOnly: false });
    if (creds?.kind === 'ssh') {
      this.prepareContainer.addMountPoints({ containerPath: GIT_SECRET_DIR, sourceVolume: secretVolume, readOnly: false });
    }

    const env: Record<string, string> = {
      GITSYNC_REPO: props.repository,
      GITSYNC_REF: props.revision ?? props.branch ?? 'HEAD',
      GITSYNC_ROOT: GIT_SYNC_ROOT,
      GITSYNC_LINK: GIT_SYNC_LINK,
      GITSYNC_DEPTH: `${props.depth ?? 1}`,
      ...(creds?.kind === 'https' ? { GITSYNC_USERNAME: creds.username! } : {}),
      ...(creds?.kind === 'ssh'
        ? {
          GITSYNC_SSH_KEY_FILE: `${GIT_SECRET_DIR}/ssh`,
          GITSYNC_SSH_KNOWN_HOSTS: 'true',
          GITSYNC_SSH_KNOWN_HOSTS_FILE: `${GIT_SECRET_DIR}/known_hosts`,
        }
        : {}),
    };
    const secrets: Record<string, ecs.Secret> = creds?.kind === 'https'
      ? { GITSYNC_PASSWORD: ecs.Secret.fromSecretsManager(creds.secret, creds.field) }
      : {};
    const mountGit = (c: ecs.ContainerDefinition) => {
      c.addMountPoints({ containerPath: GIT_SYNC_ROOT, sourceVolume: dagsVolume, readOnly: false });
      if (creds?.kind === 'ssh') c.addMountPoints({ containerPath: GIT_SECRET_DIR, sourceVolume: secretVolume, readOnly: true });
    };

    // 2. the first sync: must succeed, or the task stops with git-sync's error in the logs
    this.initContainer = props.taskDefinition.addContainer('GitSyncInit', {
      containerName: 'git-sync-init',
      image,
      user: `${GIT_SYNC_UID}:${GIT_SYNC_UID}`,
      essential: false,
      environment: {
        ...env,
        GITSYNC_ONE_TIME: 'true',
        // three attempts, 10 s apart, then give up
        GITSYNC_MAX_FAILURES: '3',
        GITSYNC_PERIOD: '10s',
      },
      secrets,
      logging: logging('git-sync-init'),
      memoryReservationMiB: 64,
    });
    mountGit(this.initContainer);
    this.initContainer.addContainerDependencies({ container: this.prepareContainer, condition: ecs.ContainerDependencyCondition.SUCCESS });

    // 3. keep syncing
    const periodSeconds = props.period?.toSeconds() ?? 60;
    this.sidecarContainer = props.taskDefinition.addContainer('GitSync', {
      containerName: 'git-sync',
      image,
      user: `${GIT_SYNC_UID}:${GIT_SYNC_UID}`,
      essential: true,
      environment: {
        ...env,
        GITSYNC_PERIOD: `${periodSeconds}s`,
        GITSYNC_MAX_FAILURES: `${props.maxFailures ?? -1}`,
        GITSYNC_HTTP_BIND: `127.0.0.1:${GIT_SYNC_HTTP_PORT}`,
      },
      secrets,
      healthCheck: {
        command: ['CMD', '/bin/bash', '-c', HEALTH_CHECK_SCRIPT],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      logging: logging('git-sync'),
      memoryReservationMiB: 64,
    });
    mountGit(this.sidecarContainer);
    this.sidecarContainer.addContainerDependencies({ container: this.initContainer, condition: ecs.ContainerDependencyCondition.SUCCESS });

    // the application: read-only view, starts after the first sync
    props.container.addMountPoints({ containerPath: mountPath, sourceVolume: dagsVolume, readOnly: true });
    props.container.addContainerDependencies({ container: this.initContainer, condition: ecs.ContainerDependencyCondition.SUCCESS });
    if (props.setDagsFolder ?? true) {
      props.container.addEnvironment('AIRFLOW__CORE__DAGS_FOLDER', this.dagsFolder);
    }

    // notice when syncing keeps failing: git-sync logs "error syncing repo, will retry"
    const filter = new logs.MetricFilter(this, 'SyncErrors', {
      logGroup,
      filterPattern: logs.FilterPattern.literal('"error syncing repo"'),
      metricNamespace: 'CdkAirflowEcs/GitSync',
      metricName: `SyncErrors-${Names.uniqueId(this).slice(-200)}`,
      metricValue: '1',
      defaultValue: 0,
    });
    this.syncErrorsMetric = filter.metric({ statistic: 'Sum', period: Duration.minutes(5) });
    this.syncErrorsAlarm = this.syncErrorsMetric.createAlarm(this, 'SyncErrorsAlarm', {
      alarmDescription: `git-sync cannot sync ${redact(props.repository)}: the DAGs in ${this.dagsFolder} are getting stale; see the git-sync log stream`,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

