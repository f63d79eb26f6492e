import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AirflowComponent } from '../common/airflow-component';
import { AirflowImage } from '../common/airflow-image';
import { DagSource } from '../common/dag-source';
import { GitSyncSidecar } from '../git-sync/git-sync-sidecar';
import { AirflowOptions } from '../private/airflow-options';
import { componentSpec } from '../private/components';
import { managedEnvironmentNames, sharedEnvironment, sharedSecrets } from '../private/config';
import { AIRFLOW_USER, DEFAULTS, PORTS } from '../private/defaults';
import { checkEnvironment } from '../private/environment-check';
import { gitSyncDagsFolder } from '../private/git-sync-commands';
import { acknowledgeNag, NAG } from '../private/nag';
import { WAIT_FOR_MIGRATIONS_SCRIPT } from '../private/runtime-commands';
import { checkCount, checkFargateSize, isConcrete, Problems } from '../private/validation';
import type { WorkerAutoscalingOptions } from '../scaling/worker-autoscaling';
import { AirflowStorage } from '../storage/airflow-storage';

/**
 * Size and extra environment of one Airflow component's tasks.
 */
export interface AirflowTaskOptions {
  /**
   * Task CPU units (1024 = 1 vCPU). Must form a valid Fargate pair with `memoryLimitMiB`.
   *
   * @default - api-server, scheduler and dag-processor 1024; triggerer 512; workers 1024
   */
  readonly cpu?: number;

  /**
   * Task memory in MiB. Must form a valid Fargate pair with `cpu`.
   *
   * @default - api-server, scheduler and dag-processor 2048; triggerer 1024; workers 3072
   */
  readonly memoryLimitMiB?: number;

  /**
   * Extra environment variables for this component, for example
   * `{ AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' }`. `AIRFLOW__*` names are checked against
   * the configuration reference of the image's Airflow release: an unknown, misspelled or
   * deprecated option fails synth with the nearest valid one (list options the reference does
   * not know, such as those of a provider you install, in `customOptions`). Variables the library
   * manages cannot be set here. Never put secrets here: they would be stored in the template in
   * plain text; use `secrets`.
   *
   * @default - none
   */
  readonly environment?: { [name: string]: string };

  /**
   * Extra secrets for this component, injected by ECS as environment variables when a task
   * starts, for example `{ AIRFLOW__SMTP__SMTP_PASSWORD: ecs.Secret.fromSecretsManager(secret) }`.
   * The task execution role gets read access. Names are checked like `environment`.
   *
   * @default - none
   */
  readonly secrets?: { [name: string]: ecs.Secret };
}

/**
 * Size, count and extra environment of one Airflow component.
 */
export interface AirflowComponentOptions extends AirflowTaskOptions {
  /**
   * Number of tasks.
   *
   * @default 1
   */
  readonly desiredCount?: number;
}

/**
 * Options of the Celery workers: their size, how many tasks each runs, and how they scale.
 */
export interface AirflowWorkerOptions extends AirflowTaskOptions, WorkerAutoscalingOptions {
  /**
   * Tasks one worker runs at the same time (`[celery] worker_concurrency`). Each running task is
   * a Python process of 150–300 MiB: `memoryLimitMiB / concurrency` must be at least 256.
   *
   * @default 8
   */
  readonly concurrency?: number;

  /**
   * The Celery queues the workers consume (`airflow celery worker --queues`); only their tasks
   * count for scaling. Tasks go to a queue through the operator's `queue` argument.
   *
   * @default ['default']
   */
  readonly queues?: string[];
}

/**
 * Properties of an `AirflowService`.
 */
export interface AirflowServiceProps extends AirflowComponentOptions {
  /** The ECS cluster to run in. Its VPC must be the storage's VPC. */
  readonly cluster: ecs.ICluster;

  /** The storage: database, broker, log bucket and shared secrets. */
  readonly storage: AirflowStorage;

  /** Which Airflow component this service runs. */
  readonly component: AirflowComponent;

  /**
   * The image.
   *
   * @default AirflowImage.official(AirflowVersion.latest())
   */
  readonly image?: AirflowImage;

  /**
   * The CPU architecture of the tasks. ARM64 (Graviton) costs about 20% less than X86_64 for
   * the same size; the official image is built for both.
   *
   * @default ecs.CpuArchitecture.ARM64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * The URL of the api-server's Execution API, which Celery workers call to run tasks.
   *
   * @default - `http://airflow-api-server:8080/execution/` when the cluster has a default Cloud
   * Map namespace (ECS Service Connect), else `http://localhost:8080/execution/`
   */
  readonly executionApiServerUrl?: string;

  /**
   * The URL users reach the api-server at (`[api] base_url`).
   *
   * @default - not set
   */
  readonly baseUrl?: string;

  /**
   * Tasks one Celery worker runs at the same time; only for `AirflowComponent.CELERY_WORKER`.
   *
   * @default 8
   */
  readonly workerConcurrency?: number;

  /**
   * The Celery queues the worker consumes; only for `AirflowComponent.CELERY_WORKER`.
   *
   * @default ['default']
   */
  readonly workerQueues?: string[];

  /**
   * How long the component's container logs are kept in CloudWatch Logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Run `airflow db check-migrations` before the component starts, so it never runs against a
   * database whose schema is older than its code.
   *
   * @default true
   */
  readonly waitForMigrations?: boolean;

  /**
   * Where DAG files come from. With `DagSource.gitSync`, the components that read DAG files
   * (dag-processor, triggerer and Celery workers) get a git-sync sidecar; every component gets the
   * same `[core] dags_folder`.
   *
   * @default DagSource.fromImage()
   */
  readonly dags?: DagSource;

  /**
   * Airflow options that `environment` and `secrets` may set although the configuration
   * reference of the image's Airflow release does not list them, such as the options of a
   * provider you install in your image: `['AIRFLOW__MY_PROVIDER__ENDPOINT']`.
   *
   * @default - none: every AIRFLOW__* variable must be an option of the release
   */
  readonly customOptions?: string[];

  /**
   * Subnets of the tasks.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * How long ECS ignores failing load balancer health checks after a task starts; only for a
   * load-balanced service. Airflow needs minutes to start: an image pull, the database check
   * and the migration wait come first.
   *
   * @default - 480 seconds for the api-server, not set for other components
   */
  readonly healthCheckGracePeriod?: Duration;
}

/**
 * One Airflow component as one ECS Fargate service: its own task definition, task role,
 * execution role, security group, log group, container health check and deployment circuit
 * breaker with rollback. Every component gets the same shared configuration and secrets.
 */
export class AirflowService extends Construct implements ec2.IConnectable {
  /** The ECS service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The Airflow container. */
  public readonly container: ecs.ContainerDefinition;
  /** The init container that waits for database migrations, if any. */
  public readonly migrationWaitContainer?: ecs.ContainerDefinition;
  /** The container logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The tasks' security group. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Network access to the tasks. */
  public readonly connections: ec2.Connections;
  /** The component this service runs. */
  public readonly component: AirflowComponent;
  /** The image the component runs. */
  public readonly image: ecs.ContainerImage;
  /** The storage the component uses. */
  public readonly storage: AirflowStorage;
  /** Tasks one worker runs at a time, for the Celery worker service. */
  public readonly workerConcurrency?: number;
  /** The Celery queues the worker consumes, for the Celery worker service. */
  public readonly workerQueues?: string[];
  /** The git-sync sidecar, on components that read DAG files when DAGs come from git. */
  public readonly gitSync?: GitSyncSidecar;

  constructor(scope: Construct, id: string, props: AirflowServiceProps) {
    super(scope, id);
    const image = props.image ?? AirflowImage.official();
    const spec = componentSpec(props.component, image.airflowVersion);
    this.component = props.component;
    const cpu = props.cpu ?? spec.defaults.cpu;
    const memoryLimitMiB = props.memoryLimitMiB ?? spec.defaults.memoryLimitMiB;
    const isWorker = props.component === AirflowComponent.CELERY_WORKER;
    const isApiServer = props.component === AirflowComponent.API_SERVER;
    const architecture = props.cpuArchitecture ?? ecs.CpuArchitecture.ARM64;
    const namespace = props.cluster.defaultCloudMapNamespace;

    const env = {
      ...sharedEnvironment({
        storage: props.storage,
        executionApiServerUrl: props.executionApiServerUrl ?? (namespace
          ? `http://${DEFAULTS.apiServerDnsName}:${PORTS.apiServer}/execution/`
          : `http://localhost:${PORTS.apiServer}/execution/`),
        baseUrl: props.baseUrl,
      }),
      ...spec.environment,
      ...dagsFolderEnvironment(props.dags),
      ...(isWorker ? { AIRFLOW__CELERY__WORKER_CONCURRENCY: `${props.workerConcurrency ?? DEFAULTS.workers.concurrency}` } : {}),
    };
    const secrets = { ...sharedSecrets(props.storage), ...props.secrets };

    const problems = new Problems();
    const prop = spec.prop;
    checkFargateSize(problems, prop, cpu, memoryLimitMiB);
    checkCount(problems, `${prop}.desiredCount`, props.desiredCount, 0);
    checkEnvironment(problems, {
      prop: `${prop}.environment`,
      environment: props.environment,
      secretNames: Object.keys(props.secrets ?? {}),
      secretsProp: `${prop}.secrets`,
      managed: managedEnvironmentNames(env, sharedSecrets(props.storage)),
      options: AirflowOptions.of(image.airflowVersion),
      customOptions: props.customOptions,
      customOptionsProp: 'customOptions',
    });
    if (props.workerConcurrency !== undefined && !isWorker) {
      problems.add(`workerConcurrency (${props.workerConcurrency}) is only for AirflowComponent.CELERY_WORKER, not ${props.component.name}; remove it`);
    }
    checkCount(problems, 'workers.concurrency', props.workerConcurrency, 1);
    if (props.healthCheckGracePeriod && !isApiServer) {
      problems.add(`healthCheckGracePeriod is only for the load-balanced api-server, not ${props.component.name}; remove it (container health checks use their own start period)`);
    }
    if (props.healthCheckGracePeriod && !props.healthCheckGracePeriod.isUnresolved()) {
      const seconds = props.healthCheckGracePeriod.toSeconds();
      if (seconds < 300 || seconds > 600) {
        problems.add(`apiServer healthCheckGracePeriod (${seconds} s) must be between 300 and 600 seconds: Airflow's api-server needs minutes to start, and the load balancer must not kill it first`);
      }
    }
    const concurrency = props.workerConcurrency ?? DEFAULTS.workers.concurrency;
    if (isWorker && isConcrete(concurrency) && concurrency >= 1 && isConcrete(memoryLimitMiB) && memoryLimitMiB / concurrency < MIB_PER_TASK) {
      problems.add(`workers.concurrency (${concurrency}) is too high for workers.memoryLimitMiB (${memoryLimitMiB}): each running task needs at least ${MIB_PER_TASK} MiB; `
        + `lower concurrency to ${Math.max(1, Math.floor(memoryLimitMiB / MIB_PER_TASK))} or raise memoryLimitMiB to ${concurrency * MIB_PER_TASK} or more`);
    }
    if (props.workerQueues !== undefined && !isWorker) {
      problems.add(`workerQueues is only for AirflowComponent.CELERY_WORKER, not ${props.component.name}; remove it`);
    }
    for (const q of props.workerQueues ?? []) {
      if (!/^[A-Za-z0-9_.-]+$/.test(q)) problems.add(`workers.queues entry '${q}' is not a Celery queue name (letters, digits, _ . -)`);
    }
    if (props.workerQueues !== undefined && props.workerQueues.length === 0) {
      problems.add('workers.queues is empty, so the workers would take no task; omit it for [\'default\']');
    }
    if (isWorker && !namespace && props.executionApiServerUrl === undefined) {
      problems.add('the cluster has no default Cloud Map namespace, so the workers cannot find the api-server\'s Execution API; '
        + 'create the cluster with defaultCloudMapNamespace (ECS Service Connect, as AirflowOnEcs does) or pass executionApiServerUrl');
    }
    problems.throwIfAny(`AirflowService ${props.component.name}`);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? DEFAULTS.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      runtimePlatform: {
        cpuArchitecture: architecture,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const containerImage = image.bind(architecture);
    this.image = containerImage;
    this.storage = props.storage;
    this.workerConcurrency = isWorker ? props.workerConcurrency ?? DEFAULTS.workers.concurrency : undefined;
    this.workerQueues = isWorker ? props.workerQueues ?? ['default'] : undefined;
    const allEnv = { ...env, ...(props.environment ?? {}) };

    this.container = this.taskDefinition.addContainer('Airflow', {
      containerName: props.component.name,
      image: containerImage,
      // the official image's airflow user; its entrypoint requires group 0
      user: AIRFLOW_USER,
      command: isWorker && props.workerQueues ? [...spec.command, '--queues', props.workerQueues.join(',')] : spec.command,
      environment: allEnv,
      secrets,
      healthCheck: spec.healthCheck,
      portMappings: spec.ports.map(p => ({ name: p.name, containerPort: p.port, protocol: ecs.Protocol.TCP })),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: props.component.name }),
      essential: true,
      // Celery finishes running tasks on SIGTERM (warm shutdown); 120 s is Fargate's maximum.
      stopTimeout: isWorker ? Duration.seconds(120) : undefined,
    });

    if (props.waitForMigrations ?? true) {
      this.migrationWaitContainer = this.taskDefinition.addContainer('WaitForMigrations', {
        containerName: 'wait-for-migrations',
        image: containerImage,
        user: AIRFLOW_USER,
        command: ['bash', '-c', WAIT_FOR_MIGRATIONS_SCRIPT],
        environment: allEnv,
        secrets,
        logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'wait-for-migrations' }),
        essential: false,
      });
      this.container.addContainerDependencies({
        container: this.migrationWaitContainer,
        condition: ecs.ContainerDependencyCondition.SUCCESS,
      });
    }

    const gitSync = props.dags?.gitSyncOptions;
    if (gitSync && spec.readsDagFiles) {
      this.gitSync = new GitSyncSidecar(this, 'GitSync', {
        ...gitSync,
        taskDefinition: this.taskDefinition,
        container: this.container,
        logGroup: this.logGroup,
        // set for every component alike, above
        setDagsFolder: false,
      });
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.cluster.vpc,
      description: `Airflow ${props.component.name} tasks`,
      allowAllOutbound: true,
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? spec.defaults.desiredCount,
      securityGroups: [this.securityGroup],
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      enableECSManagedTags: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      healthCheckGracePeriod: isApiServer
        ? props.healthCheckGracePeriod ?? Duration.seconds(DEFAULTS.healthCheckGracePeriodSeconds)
        : undefined,
      serviceConnectConfiguration: namespace
        ? {
          namespace: namespace.namespaceName,
          services: isApiServer
            ? [{ portMappingName: 'api', dnsName: DEFAULTS.apiServerDnsName, port: PORTS.apiServer }]
            : undefined,
        }
        : undefined,
    });
    this.connections = this.service.connections;
    // Tasks may open any outbound connection (image pulls, AWS APIs, whatever DAGs call), so the
    // egress halves of the rules below are already covered.
    Annotations.of(this).acknowledgeWarning('@aws-cdk/aws-ec2:ipv4IgnoreEgressRule', 'outbound traffic is allowed to anywhere');

    // Reach the database and (for Celery users) the broker. `allowTo` puts both rules in this
    // stack, so a storage stack never refers to the services that use it.
    this.connections.allowTo(props.storage.database, ec2.Port.tcp(PORTS.postgres), `Airflow ${props.component.name} to the metadata database`);
    if (spec.usesBroker) {
      this.connections.allowTo(props.storage.brokerConnections, ec2.Port.tcp(PORTS.valkey), `Airflow ${props.component.name} to the Celery broker`);
    }

    if (isApiServer) {
      props.storage.logBucket.grantRead(this.taskDefinition.taskRole, 'logs/*');
    } else {
      props.storage.logBucket.grantReadWrite(this.taskDefinition.taskRole, 'logs/*');
    }
    acknowledgeNag(this.taskDefinition, [NAG.taskEnvironment]);
    acknowledgeNag(this.taskDefinition.taskRole, [NAG.logBucketObjects], true);
  }
}

/** The least memory a running Airflow task needs on a worker. */
const MIB_PER_TASK = 256;

/** `[core] dags_folder`, the same in every component. */
function dagsFolderEnvironment(dags: DagSource | undefined): Record<string, string> {
  if (dags?.gitSyncOptions) {
    return { AIRFLOW__CORE__DAGS_FOLDER: gitSyncDagsFolder(dags.gitSyncOptions.subPath) };
  }
  if (dags?.imageDagsFolder) {
    return { AIRFLOW__CORE__DAGS_FOLDER: dags.imageDagsFolder };
  }
  return {};
}
