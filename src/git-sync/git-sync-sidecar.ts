import { Duration, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  GIT_CA_FILE, GIT_SECRET_DIR, GIT_SYNC_UID, GIT_SYNC_HTTP_PORT, GIT_SYNC_LINK, GIT_SYNC_ROOT, gitSyncDagsFolder, HEALTH_CHECK_SCRIPT,
  PREPARE_ENV, PREPARE_SCRIPT,
} from './commands';
import { GitSyncOptions } from './git-sync-options';
import { redact, validateGitSync, VALIDATED } from './validation';
import { ImageMirror } from '../common/image-mirror';
import { DEFAULTS } from '../private/defaults';
import { Problems } from '../private/validation';

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

  /**
   * Where the default git-sync image is pulled from (ignored when `image` is given). By default it
   * is copied at deploy time into an ECR repository of this stack, by a function outside any VPC
   * (pass `ImageMirror.ecr({ vpc })` to run it in yours); `ImageMirror.upstream()` pulls from
   * registry.k8s.io on every task start.
   *
   * @default ImageMirror.ecr()
   */
  readonly imageMirror?: ImageMirror;
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
  /** In alarm when syncs have failed in each of three consecutive 5-minute periods; add an action to be told. */
  public readonly syncErrorsAlarm: cloudwatch.Alarm;
  private readonly syncErrors: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: GitSyncSidecarProps) {
    super(scope, id);
    if (!(props as any)[VALIDATED]) validateGitSync(new Problems(this), props);
    const mountPath = props.mountPath ?? DEFAULTS.gitSync.mountPath;
    this.dagsFolder = gitSyncDagsFolder(props.subPath, mountPath);
    const image = props.image ?? (props.imageMirror ?? ImageMirror.ecr()).bind(DEFAULTS.gitSync.image);
    const logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const credentials = props.credentials?.bind(this);

    // Fargate task storage, shared by the containers of one task and gone with it.
    const dagsVolume = 'git-sync-dags';
    props.taskDefinition.addVolume({ name: dagsVolume });
    const secretVolume = credentials?.needsSecretVolume || props.caCertificates ? 'git-sync-secret' : undefined;
    if (secretVolume) props.taskDefinition.addVolume({ name: secretVolume });

    const gitSyncEnvironment: Record<string, string> = {
      GITSYNC_REPO: props.repository,
      GITSYNC_REF: props.revision ?? props.branch ?? 'HEAD',
      GITSYNC_ROOT: GIT_SYNC_ROOT,
      GITSYNC_LINK: GIT_SYNC_LINK,
      GITSYNC_DEPTH: `${props.depth ?? DEFAULTS.gitSync.depth}`,
      ...credentials?.environment,
      ...(props.caCertificates ? { GIT_SSL_CAINFO: `${GIT_SECRET_DIR}/${GIT_CA_FILE}` } : {}),
    };
    /** One git-sync container: its image, logs and the DAG volume (and the secret volume, read-only but for the root step). */
    const container = (containerId: string, name: string, options: Partial<ecs.ContainerDefinitionOptions>, prepare = false) => {
      const c = props.taskDefinition.addContainer(containerId, {
        containerName: name,
        image,
        user: prepare ? '0' : `${GIT_SYNC_UID}:${GIT_SYNC_UID}`,
        essential: false,
        logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: name }),
        memoryReservationMiB: 64,
        ...options,
      });
      c.addMountPoints({ containerPath: GIT_SYNC_ROOT, sourceVolume: dagsVolume, readOnly: false });
      if (secretVolume) c.addMountPoints({ containerPath: GIT_SECRET_DIR, sourceVolume: secretVolume, readOnly: !prepare });
      return c;
    };

    // 1. hand the volume to git-sync's user (root, seconds)
    this.prepareContainer = container('GitSyncPrepare', 'git-sync-prepare', {
      entryPoint: ['/bin/bash', '-c'],
      command: [PREPARE_SCRIPT],
      environment: {
        [PREPARE_ENV.root]: GIT_SYNC_ROOT,
        ...(props.caCertificates ? { [PREPARE_ENV.secretDir]: GIT_SECRET_DIR } : {}),
        ...credentials?.prepareEnvironment,
      },
      secrets: { ...credentials?.prepareSecrets, ...(props.caCertificates ? { [PREPARE_ENV.caCertificates]: props.caCertificates } : {}) },
      memoryReservationMiB: 32,
    }, true);

    // 2. the first sync: must succeed, or the task stops with git-sync's error in the logs
    this.initContainer = container('GitSyncInit', 'git-sync-init', {
      // three attempts, 10 s apart, then give up
      environment: { ...gitSyncEnvironment, GITSYNC_ONE_TIME: 'true', GITSYNC_MAX_FAILURES: '3', GITSYNC_PERIOD: '10s' },
      secrets: credentials?.secrets,
    });
    this.initContainer.addContainerDependencies({ container: this.prepareContainer, condition: ecs.ContainerDependencyCondition.SUCCESS });

    // 3. keep syncing
    // whole seconds (synth refuses other periods; a safe value lets the other checks run)
    const periodSeconds = props.period && !props.period.isUnresolved()
      ? Math.max(1, Math.round(props.period.toMilliseconds() / 1000))
      : props.period?.toSeconds() ?? DEFAULTS.gitSync.periodSeconds;
    this.sidecarContainer = container('GitSync', 'git-sync', {
      essential: true,
      environment: {
        ...gitSyncEnvironment,
        GITSYNC_PERIOD: `${periodSeconds}s`,
        GITSYNC_MAX_FAILURES: `${props.maxFailures ?? DEFAULTS.gitSync.maxFailures}`,
        GITSYNC_HTTP_BIND: `127.0.0.1:${GIT_SYNC_HTTP_PORT}`,
      },
      secrets: credentials?.secrets,
      healthCheck: {
        command: ['CMD', '/bin/bash', '-c', HEALTH_CHECK_SCRIPT],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
    });
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
    this.syncErrors = filter.metric({ statistic: 'Sum', period: Duration.minutes(5) });
    this.syncErrorsAlarm = this.syncErrors.createAlarm(this, 'SyncErrorsAlarm', {
      alarmDescription: `git-sync cannot sync ${redact(props.repository)}: the DAGs in ${this.dagsFolder} are getting stale; see the git-sync log stream`,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Failed syncs counted from the git-sync logs (Sum over 5 minutes by default).
   *
   * @param props metric options, such as another period or statistic
   */
  public metricSyncErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.syncErrors.with(props ?? {});
  }
}
