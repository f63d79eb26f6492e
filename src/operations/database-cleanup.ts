import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { AirflowImage } from '../common/airflow-image';
import { ImageMirror } from '../common/image-mirror';
import { sharedEnvironment, sharedSecrets } from '../private/config';
import { DEFAULTS, PORTS } from '../private/defaults';
import { airflowTask } from '../private/fargate-task';
import { Problems } from '../private/validation';
import { SecretsBackend } from '../secrets-backend/secrets-backend';
import { IAirflowStorage } from '../storage/i-airflow-storage';

/** When and how much `airflow db clean` deletes. */
export interface DatabaseCleanupOptions {
  /**
   * Whether to clean the metadata database on a schedule.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * How long to keep records (DAG runs, task instances, logs of the audit log, XComs, jobs, ...):
   * older ones are deleted, without archive tables. At least 1 day.
   *
   * @default Duration.days(90)
   */
  readonly retention?: Duration;

  /**
   * When to run it (EventBridge Scheduler).
   *
   * @default - daily at 03:00 UTC: `ScheduleExpression.cron({ hour: '3', minute: '0' })`
   */
  readonly schedule?: scheduler.ScheduleExpression;
}

/** Properties of an `AirflowDatabaseCleanup`. */
export interface AirflowDatabaseCleanupProps extends DatabaseCleanupOptions {
  /** The cluster the task runs in. */
  readonly cluster: ecs.ICluster;
  /** The storage whose database is cleaned. */
  readonly storage: IAirflowStorage;
  /**
   * The image; use the same image as the components.
   *
   * @default AirflowImage.official(AirflowVersion.latest())
   */
  readonly image?: AirflowImage;

  /**
   * Where the tasks pull the official image (and other public images) from. By default it is
   * copied at deploy time into an ECR repository of this stack, and the tasks pull the copy;
   * `ImageMirror.upstream()` pulls from Docker Hub on every task start.
   *
   * @default ImageMirror.ecr()
   */
  readonly imageMirror?: ImageMirror;
  /**
   * The CPU architecture of the task.
   *
   * @default ecs.CpuArchitecture.ARM64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Environment variables for the container, such as the deployment's own settings.
   *
   * @default - the settings every component shares
   */
  readonly environment?: { [name: string]: string };
  /**
   * ECS secrets for the container.
   *
   * @default - the secrets every component shares
   */
  readonly secrets?: { [name: string]: ecs.Secret };
  /**
   * Airflow's secrets backend, the same as the components': `airflow db clean` reads its
   * configuration like every component (a `configPrefix` may hold `sql_alchemy_conn_secret`), and
   * the task role may read under the backend's prefixes.
   *
   * @default - no secrets backend
   */
  readonly secretsBackend?: SecretsBackend;
  /**
   * How long to keep the task's logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The subnets the task runs in.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/** Where the retention reaches the container. */
const RETENTION_ENV = 'CDK_AIRFLOW_CLEAN_RETENTION_DAYS';

/**
 * Runs `airflow db clean` on a schedule: an ECS task started by EventBridge Scheduler deletes the
 * metadata database's records older than `retention`, in batches, without archive tables.
 */
export class AirflowDatabaseCleanup extends Construct {
  /** The task definition (container `db-clean`). */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The task's security group, allowed into the database. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The task's logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The schedule that starts it. */
  public readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: AirflowDatabaseCleanupProps) {
    super(scope, id);
    const problems = new Problems(this);
    const retention = props.retention ?? Duration.days(DEFAULTS.databaseCleanup.retentionDays);
    const days = retention.isUnresolved() ? undefined : retention.toDays({ integral: false });
    if (days !== undefined && (days < 1 || !Number.isInteger(days))) {
      problems.add(`databaseCleanup.retention (${days} days) must be whole days, at least 1; use e.g. Duration.days(90)`);
    }
    const task = airflowTask(this, {
      vpc: props.cluster.vpc,
      imageMirror: props.imageMirror,
      vpcSubnets: props.vpcSubnets,
      cpu: DEFAULTS.databaseCleanup.cpu,
      memoryLimitMiB: DEFAULTS.databaseCleanup.memoryLimitMiB,
      architecture: props.cpuArchitecture ?? ecs.CpuArchitecture[DEFAULTS.cpuArchitecture],
      image: props.image ?? AirflowImage.official(),
      logRetention: props.logRetention,
      containerId: 'DbClean',
      containerName: 'db-clean',
      // the cut-off is worked out when the task runs; `airflow db clean` takes a timestamp
      command: ['bash', '-c', [
        'set -euo pipefail',
        // $NAME, not ${NAME}: CloudFormation linters take ${...} for a Fn::Sub parameter
        `before="$(date -u -d "-$${RETENTION_ENV} days" '+%Y-%m-%d %H:%M:%S+00:00')"`,
        'echo "deleting records older than $before"',
        `exec airflow db clean --clean-before-timestamp "$before" --skip-archive --yes --batch-size ${DEFAULTS.databaseCleanup.batchSize}`,
      ].join('\n')],
      environment: {
        ...props.environment,
        ...sharedEnvironment({ storage: props.storage, executionApiServerUrl: `http://localhost:${PORTS.apiServer}/execution/` }),
        ...props.secretsBackend?.environment,
        [RETENTION_ENV]: days !== undefined ? `${days}` : retention.toDays().toString(),
      },
      secrets: { ...props.secrets, ...sharedSecrets(props.storage) },
      securityGroupDescription: 'Airflow database clean-up task',
    });
    this.taskDefinition = task.taskDefinition;
    this.securityGroup = task.securityGroup;
    this.logGroup = task.logGroup;
    task.securityGroup.connections.allowTo(props.storage.databaseConnections, ec2.Port.tcp(PORTS.postgres), 'Airflow database clean-up task to the metadata database');
    const backendPolicy = props.secretsBackend?.grantRead(this, this.taskDefinition.taskRole);

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `airflow db clean: deletes metadata older than ${days ?? '?'} days`,
      schedule: props.schedule ?? scheduler.ScheduleExpression.cron({ hour: '3', minute: '0' }),
      enabled: props.enabled ?? true,
      target: new schedulerTargets.EcsRunFargateTask(props.cluster, {
        taskDefinition: this.taskDefinition,
        vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [this.securityGroup],
        // a missed run is not worth repeating many times: the next day's run catches up
        retryAttempts: 2,
      }),
    });
    // the first run must not find the task role without its read access
    if (backendPolicy) this.schedule.node.addDependency(backendPolicy);
  }
}
