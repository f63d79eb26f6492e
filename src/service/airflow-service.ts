import { AspectPriority, Aspects, Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cloudmap from 'aws-cdk-lib/aws-servicediscovery';
import { Construct, IConstruct } from 'constructs';
import { WAIT_FOR_MIGRATIONS_SCRIPT } from './commands';
import { componentSpec } from './components';
import { checkFargateSize } from './fargate-sizes';
import { ApiServerOptions, CeleryWorkerOptions } from './service-options';
import { AirflowComponent } from '../common/airflow-component';
import { AirflowImage } from '../common/airflow-image';
import { ImageMirror } from '../common/image-mirror';
import { DagSourceConfig, IDagSource } from '../dags/i-dag-source';
import { AirflowOptions } from '../private/airflow-options';
import { sharedEnvironment, sharedSecrets } from '../private/config';
import { AIRFLOW_USER, DEFAULTS, PORTS } from '../private/defaults';
import { checkAcrossLevels, checkEnvironment, ecsSecretsOnly, warnPipAdditionalRequirements } from '../private/environment-check';
import { airflowTask } from '../private/fargate-task';
import { acknowledgeNag, NAG } from '../private/nag';
import { checkCount, isConcrete, isConcreteString, Problems } from '../private/validation';
import { SecretsBackend } from '../secrets-backend/secrets-backend';
import { SingleSignOn } from '../sso/single-sign-on';
import { writeConfigThenRun } from '../sso/webserver-config';
import { IAirflowStorage } from '../storage/i-airflow-storage';

/**
 * Properties of an `AirflowService`.
 */
export interface AirflowServiceProps extends ApiServerOptions, CeleryWorkerOptions {
  /** The ECS cluster to run in. Its VPC must be the storage's VPC. */
  readonly cluster: ecs.ICluster;

  /** The storage: database, broker, log bucket and shared secrets. */
  readonly storage: IAirflowStorage;

  /**
   * Single sign-on through the organization's identity provider, with roles from its groups
   * (api-server only): `SingleSignOn.oidc({ ... })`.
   *
   * @default - users sign in with a user name and password kept in the metadata database
   */
  readonly singleSignOn?: SingleSignOn;

  /** Which Airflow component this service runs. */
  readonly component: AirflowComponent;

  /**
   * The image.
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
   * The CPU architecture of the tasks. ARM64 (Graviton) costs about 20% less than X86_64 for
   * the same size; the official image is built for both.
   *
   * @default ecs.CpuArchitecture.ARM64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * The URL of the api-server's Execution API, which Celery workers call to run tasks.
   *
   * @default - `http://airflow-api-server:8080/execution/` when the service is a Service Connect
   * client (a namespace is given or the cluster has a default one), else `http://localhost:8080/execution/`
   */
  readonly executionApiServerUrl?: string;

  /**
   * The Service Connect namespace the service joins; the api-server serves the Execution API in
   * it as `airflow-api-server:8080`.
   *
   * @default - the cluster's default Cloud Map namespace, if any
   */
  readonly serviceConnectNamespace?: cloudmap.INamespace;

  /**
   * The URL users reach the api-server at (`[api] base_url`).
   *
   * @default - not set
   */
  readonly baseUrl?: string;

  /**
   * How long the component's container logs are kept in CloudWatch Logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Wait for the database and run `airflow db check-migrations` before the component starts, so
   * it never runs against a database whose schema is older than its code.
   *
   * @default true
   */
  readonly waitForMigrations?: boolean;

  /**
   * Where DAG files come from. The components that read DAG files (dag-processor, triggerer and
   * Celery workers) get what the source adds (a git-sync sidecar for `DagSource.gitSync`);
   * every component gets the same `[core] dags_folder`.
   *
   * @default DagSource.fromImage()
   */
  readonly dags?: IDagSource;

  /**
   * Subnets of the tasks.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Airflow options that `environment` and `secrets` may set although the configuration
   * reference of the image's Airflow release does not list them, such as the options of a
   * provider you install in your image: `['AIRFLOW__MY_PROVIDER__ENDPOINT']`.
   *
   * @default - none: every AIRFLOW__* variable must be an option of the release
   */
  readonly customOptions?: string[];

  /**
   * Variables every component of the deployment shares, set before `environment`.
   * `AirflowOnEcs` passes its top-level `environment` here and checks it once for every
   * component; they are not checked again here.
   *
   * @default - none
   */
  readonly deploymentEnvironment?: { [name: string]: string };

  /**
   * Secrets every component of the deployment shares, set before `secrets`; checked by their
   * owner, like `deploymentEnvironment`.
   *
   * @default - none
   */
  readonly deploymentSecrets?: { [name: string]: ecs.Secret };

  /**
   * How long a task may wait in the queue and still run, for example while a worker starts from
   * zero: `[scheduler] task_queued_timeout` and the Execution API token lifetime
   * (`[execution_api] jwt_expiration_time`).
   *
   * @default - Airflow's defaults (10 minutes each)
   */
  readonly maxQueueWait?: Duration;

  /**
   * How many tasks run at once across the deployment (`[core] parallelism`).
   *
   * @default - Airflow's default (32)
   */
  readonly parallelism?: number;

  /**
   * The capacity providers of the service's tasks, such as a FARGATE_SPOT/FARGATE mix for workers
   * (`WorkerAutoscaling.capacityProviderStrategies()`). The control plane belongs on FARGATE.
   *
   * @default - the FARGATE launch type
   */
  readonly capacityProviderStrategies?: ecs.CapacityProviderStrategy[];

  /**
   * ECS Exec into the service's containers (`aws ecs execute-command`), with the session's output
   * logged to the component's log group.
   *
   * @default false
   */
  readonly enableExecuteCommand?: boolean;

  /**
   * The number of tasks is set by Application Auto Scaling (`WorkerAutoscaling`): the template
   * holds no DesiredCount, so a deployment never resets it, and `desiredCount` must be unset.
   *
   * @default false
   */
  readonly autoscaled?: boolean;

  /**
   * Airflow's secrets backend: connections, variables and configuration from AWS Secrets Manager
   * or SSM Parameter Store; the task role may read under its prefixes.
   *
   * @default - none: connections and variables live in the metadata database and environment
   */
  readonly secretsBackend?: SecretsBackend;

  /**
   * For the dag-processor service: run the triggerer in the same task, as a second essential
   * container with its own command, health check and log stream, instead of in a service of its
   * own (`AirflowOnEcs` `compactControlPlane`). The task needs memory for both: `cpu` and
   * `memoryLimitMiB` default to 0.5 vCPU and 2 GiB, and synth refuses less than 2048 MiB.
   *
   * @default false
   */
  readonly withTriggerer?: boolean;

  /**
   * For a Celery worker service of a worker pool (`AirflowOnEcs` `workerPools`): the pool's name,
   * which synth messages use (`workerPools.<name>.cpu …`).
   *
   * @default - the `workers` pool
   */
  readonly poolName?: string;
}

/**
 * One Airflow component as one ECS Fargate service: its own task definition, task role,
 * execution role, security group, log group, container health check and deployment circuit
 * breaker with rollback. Every component gets the same shared configuration and secrets.
 */
export class AirflowService extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** The ECS service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The Airflow container. */
  public readonly container: ecs.ContainerDefinition;
  /** The triggerer's container, when it runs in this dag-processor task (`withTriggerer`). */
  public readonly triggererContainer?: ecs.ContainerDefinition;
  /** The init container that waits for the database and its migrations, if any. */
  public readonly migrationWaitContainer?: ecs.ContainerDefinition;
  /** The container logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The tasks' security group. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Network access to the tasks. */
  public readonly connections: ec2.Connections;
  /** The tasks' role: what DAG code running here may do (`bucket.grantRead(service)`). */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The component this service runs. */
  public readonly component: AirflowComponent;
  /** Every component this service's tasks run: `component`, and the triggerer with `withTriggerer`. */
  public readonly components: AirflowComponent[];
  /** The image the component runs. */
  public readonly image: ecs.ContainerImage;
  /** The Airflow image the component runs, with its release. */
  public readonly airflowImage: AirflowImage;
  /** The storage the component uses. */
  public readonly storage: IAirflowStorage;
  /** Tasks one worker runs at a time, for the Celery worker service. */
  public readonly concurrency?: number;
  /** The Celery queues the worker consumes, for the Celery worker service. */
  public readonly queues?: string[];
  /** What the DAG source added, on components that read DAG files. */
  public readonly dagSource?: DagSourceConfig;
  /** The worker pool's name, for the Celery worker service of a pool other than `workers`. */
  public readonly poolName?: string;
  /** Where this service's settings sit in the props, for synth messages: `workers`, `workerPools.heavy`, `scheduler`... */
  public readonly propPath: string;

  constructor(scope: Construct, id: string, props: AirflowServiceProps) {
    super(scope, id);
    const image = props.image ?? AirflowImage.official();
    const spec = componentSpec(props.component, image.airflowVersion);
    const isWorker = props.component === AirflowComponent.CELERY_WORKER;
    const isApiServer = props.component === AirflowComponent.API_SERVER;
    // a dag-processor with the triggerer beside it needs room for both
    const sizes = props.withTriggerer ? DEFAULTS.compactControlPlane : spec.defaults;
    const cpu = props.cpu ?? sizes.cpu;
    const memoryLimitMiB = props.memoryLimitMiB ?? sizes.memoryLimitMiB;
    const architecture = props.cpuArchitecture ?? ecs.CpuArchitecture[DEFAULTS.cpuArchitecture];
    const namespace = props.serviceConnectNamespace ?? props.cluster.defaultCloudMapNamespace;
    const dagsFolder = props.dags?.dagsFolder;
    this.component = props.component;
    const triggerer = props.withTriggerer ? componentSpec(AirflowComponent.TRIGGERER, image.airflowVersion) : undefined;
    this.components = triggerer ? [props.component, AirflowComponent.TRIGGERER] : [props.component];
    this.airflowImage = image;
    this.storage = props.storage;
    this.concurrency = isWorker ? props.concurrency ?? DEFAULTS.workers.concurrency : undefined;
    this.queues = isWorker ? props.queues ?? [...DEFAULTS.workers.queues] : undefined;
    this.poolName = props.poolName;
    this.propPath = isWorker && props.poolName !== undefined ? `workerPools.${props.poolName}` : spec.prop;

    validate(new Problems(this), props, this.propPath, {
      cpu, memoryLimitMiB, isWorker, isApiServer, hasNamespace: namespace !== undefined, processes: this.components.length,
    });
    warnPipAdditionalRequirements(this, props.environment, `${this.propPath}.`);
    const ssoProblems = new Problems(this);
    if (props.singleSignOn && !isApiServer) {
      ssoProblems.add(`singleSignOn is set on the ${props.component.name} service; it configures the api-server's sign-in: set it on the api-server only`);
    }
    const sso = isApiServer ? props.singleSignOn?._bind(this, ssoProblems) : undefined;

    // every variable the component gets from the library: all in MANAGED_VARIABLES (private/config.ts)
    const environmentOf = (componentEnvironment: Record<string, string>) => ({
      ...sharedEnvironment({
        storage: props.storage,
        executionApiServerUrl: props.executionApiServerUrl ?? (namespace
          ? `http://${DEFAULTS.apiServerDnsName}:${PORTS.apiServer}/execution/`
          : `http://localhost:${PORTS.apiServer}/execution/`),
        baseUrl: props.baseUrl,
      }),
      ...componentEnvironment,
      ...(dagsFolder ? { AIRFLOW__CORE__DAGS_FOLDER: dagsFolder } : {}),
      ...(isWorker ? { AIRFLOW__CELERY__WORKER_CONCURRENCY: `${this.concurrency}` } : {}),
      ...(props.maxQueueWait ? queueWaitEnvironment(props.maxQueueWait) : {}),
      ...(props.parallelism !== undefined ? { AIRFLOW__CORE__PARALLELISM: `${props.parallelism}` } : {}),
      ...props.secretsBackend?.environment,
      ...sso?.environment,
      ...props.deploymentEnvironment,
      ...props.environment,
    });
    const environment = environmentOf(spec.environment);
    const secrets = {
      ...sharedSecrets(props.storage), ...sso?.secrets, ...ecsSecretsOnly(props.deploymentSecrets), ...ecsSecretsOnly(props.secrets),
    };
    const command = isWorker && props.queues ? [...spec.command, '--queues', props.queues.join(',')] : spec.command;

    const task = airflowTask(this, {
      vpc: props.cluster.vpc,
      imageMirror: props.imageMirror,
      vpcSubnets: props.vpcSubnets,
      cpu,
      memoryLimitMiB,
      // an invalid size is reported by validate(); the CDK would throw on it here, before the report
      ephemeralStorageGiB: validEphemeralStorage(props.ephemeralStorageGiB),
      architecture,
      image,
      logRetention: props.logRetention,
      containerId: 'Airflow',
      containerName: props.component.name,
      command: sso ? writeConfigThenRun(command) : command,
      environment,
      secrets,
      healthCheck: spec.healthCheck,
      portMappings: spec.ports.map(p => ({ name: p.name, containerPort: p.port, protocol: ecs.Protocol.TCP })),
      // Celery finishes running tasks on SIGTERM (warm shutdown); 120 s is Fargate's maximum.
      stopTimeout: isWorker ? Duration.seconds(DEFAULTS.workers.stopTimeoutSeconds) : undefined,
      securityGroupDescription: `Airflow ${props.component.name} tasks`,
    });
    this.logGroup = task.logGroup;
    this.taskDefinition = task.taskDefinition;
    this.container = task.container;
    this.image = task.containerImage;
    this.securityGroup = task.securityGroup;
    this.grantPrincipal = this.taskDefinition.taskRole;

    if (props.waitForMigrations ?? true) {
      this.migrationWaitContainer = this.taskDefinition.addContainer('WaitForMigrations', {
        containerName: 'wait-for-migrations',
        image: task.containerImage,
        user: AIRFLOW_USER,
        command: ['bash', '-c', WAIT_FOR_MIGRATIONS_SCRIPT],
        environment,
        secrets,
        logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'wait-for-migrations' }),
        essential: false,
      });
      this.container.addContainerDependencies({ container: this.migrationWaitContainer, condition: ecs.ContainerDependencyCondition.SUCCESS });
    }

    if (props.dags && spec.readsDagFiles) {
      this.dagSource = props.dags.bind(this, {
        taskDefinition: this.taskDefinition,
        container: this.container,
        logGroup: this.logGroup,
        imageMirror: props.imageMirror,
        vpc: props.cluster.vpc,
        vpcSubnets: props.vpcSubnets,
      });
    }

    if (triggerer) {
      // the same image, user, settings, volumes and start order as the dag-processor beside it
      this.triggererContainer = this.taskDefinition.addContainer('Triggerer', {
        containerName: AirflowComponent.TRIGGERER.name,
        image: task.containerImage,
        user: AIRFLOW_USER,
        command: triggerer.command,
        environment: environmentOf(triggerer.environment),
        secrets,
        healthCheck: triggerer.healthCheck,
        portMappings: triggerer.ports.map(p => ({ name: p.name, containerPort: p.port, protocol: ecs.Protocol.TCP })),
        logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: AirflowComponent.TRIGGERER.name }),
        essential: true,
      });
      this.triggererContainer.addMountPoints(...this.container.mountPoints);
      this.triggererContainer.addContainerDependencies(...this.container.containerDependencies);
    }

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      // autoscaled: no DesiredCount, so that CloudFormation never resets the count on an update
      desiredCount: props.autoscaled ? undefined : props.desiredCount ?? spec.defaults.desiredCount ?? 1,
      capacityProviderStrategies: props.capacityProviderStrategies,
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
    if (isWorker) {
      // sidecars join the task after this constructor (WorkerAutoscaling's scale-in protection), so count them at synth
      this.node.addValidation({ validate: () => checkWorkerMemory(this, memoryLimitMiB, namespace !== undefined) });
    }
    if (props.enableExecuteCommand) this.enableExecuteCommand();
    if (props.capacityProviderStrategies) {
      // CloudFormation must associate FARGATE_SPOT with the cluster before a service can use it,
      // and nothing the service refers to says so. ecs.Cluster creates the association in an
      // aspect, so find it once that has run. (Depending on the whole cluster would repeat the
      // Ref to it: cfn-lint W3005.)
      const service = this.service;
      Aspects.of(props.cluster).add({
        visit(node: IConstruct) {
          if (node instanceof ecs.CfnClusterCapacityProviderAssociations) service.node.addDependency(node);
        },
      }, { priority: AspectPriority.READONLY });
    }

    // Reach the database and (for Celery users) the broker. `allowTo` puts both rules in this
    // stack, so a storage stack never refers to the services that use it.
    this.connections.allowTo(props.storage.databaseConnections, ec2.Port.tcp(PORTS.postgres), `Airflow ${props.component.name} to the metadata database`);
    if (spec.usesBroker) {
      this.connections.allowTo(props.storage.brokerConnections, ec2.Port.tcp(PORTS.valkey), `Airflow ${props.component.name} to the Celery broker`);
    }

    if (isApiServer) {
      props.storage.logBucket.grantRead(this.taskDefinition.taskRole, 'logs/*');
    } else {
      props.storage.logBucket.grantReadWrite(this.taskDefinition.taskRole, 'logs/*');
    }
    acknowledgeNag(this.taskDefinition.taskRole, [NAG.logBucketObjects], true);
    // tasks start only once they may read the backend
    const backendPolicy = props.secretsBackend?.grantRead(this, this.taskDefinition.taskRole);
    if (backendPolicy) this.service.node.addDependency(backendPolicy);
  }

  /** The containers that run Airflow components: `container`, then `triggererContainer` if any. */
  public get airflowContainers(): ecs.ContainerDefinition[] {
    return this.triggererContainer ? [this.container, this.triggererContainer] : [this.container];
  }

  /**
   * ECS Exec: the service lets operators in, and the task role opens the session channels and logs
   * each session to the component's log group (the cluster's DEFAULT exec logging uses the
   * container's awslogs settings), in a policy of its own so that its wildcards are the only ones
   * acknowledged.
   */
  private enableExecuteCommand(): void {
    (this.service.node.defaultChild as ecs.CfnService).enableExecuteCommand = true;
    const policy = new iam.Policy(this, 'ExecuteCommandPolicy', {
      roles: [this.taskDefinition.taskRole],
      statements: [
        new iam.PolicyStatement({
          actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel', 'logs:DescribeLogGroups'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });
    this.service.node.addDependency(policy);
    acknowledgeNag(policy, [NAG.executeCommand]);
  }
}

/** `[scheduler] task_queued_timeout` and the Execution API token lifetime: how long a task may wait for a worker. */
function queueWaitEnvironment(maxQueueWait: Duration): Record<string, string> {
  const seconds = `${maxQueueWait.toSeconds()}`;
  return { AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT: seconds, AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME: seconds };
}

/**
 * What a Celery worker's memory must hold (docs/pitfalls.md, #45), in MiB. The worker itself: the
 * Celery main process and its prefork pool, measured at 467 MiB idle in the local ECS runtime.
 * Each running task: a forked task process, measured at ~56 MiB for the e2e DAGs' trivial tasks
 * (914 MiB busy at concurrency 8), plus room for what the task's own code loads. With these
 * figures Amazon MWAA's worker sizes pass (mw1.small: 2 GiB, 5 tasks), the story's 1 GiB worker
 * fails at any concurrency above 1, and the default 3 GiB worker holds 8 tasks.
 */
const WORKER_MEMORY = {
  /** The worker process and its pool, without tasks. */
  baselineMiB: 512,
  /** One running task. */
  perTaskMiB: 256,
  /** The Service Connect proxy ECS adds to the task (AWS recommends at least 64 MiB for it). */
  serviceConnectProxyMiB: 64,
} as const;

/** Task ephemeral storage Fargate accepts, in GiB; below it the task gets Fargate's 20 GiB. */
const EPHEMERAL_STORAGE_GIB = { min: 21, max: 200 } as const;

function validEphemeralStorage(gib: number | undefined): number | undefined {
  if (!isConcrete(gib)) return gib;
  return Number.isInteger(gib) && gib >= EPHEMERAL_STORAGE_GIB.min && gib <= EPHEMERAL_STORAGE_GIB.max ? gib : undefined;
}

/**
 * The memory a worker task needs: the worker, its running tasks, the long-running sidecars (what
 * they reserve) and the Service Connect proxy. Init containers that finish before Airflow starts
 * do not count.
 */
function checkWorkerMemory(service: AirflowService, memoryLimitMiB: number, serviceConnect: boolean): string[] {
  const concurrency = service.concurrency;
  if (!isConcrete(concurrency) || concurrency < 1 || !isConcrete(memoryLimitMiB)) return [];
  // the containers Airflow waits for to exit, and those they wait for in turn
  const finishFirst = new Set<ecs.ContainerDefinition>();
  const waitFor = (c: ecs.ContainerDefinition) => {
    for (const d of c.containerDependencies) {
      const exits = d.condition === ecs.ContainerDependencyCondition.SUCCESS || d.condition === ecs.ContainerDependencyCondition.COMPLETE;
      if (exits && !finishFirst.has(d.container)) {
        finishFirst.add(d.container);
        waitFor(d.container);
      }
    }
  };
  waitFor(service.container);
  const sidecars = service.taskDefinition.node.children
    .filter((c): c is ecs.ContainerDefinition => c instanceof ecs.ContainerDefinition && c !== service.container && !finishFirst.has(c))
    .map(c => {
      const rendered = c.renderContainerDefinition();
      return { name: c.containerName, mib: Math.max(numberOr0(rendered.memoryReservation), numberOr0(rendered.memory)) };
    })
    .filter(c => c.mib > 0);
  if (serviceConnect) sidecars.push({ name: 'Service Connect proxy', mib: WORKER_MEMORY.serviceConnectProxyMiB });
  const sidecarMiB = sidecars.reduce((sum, c) => sum + c.mib, 0);
  const needed = WORKER_MEMORY.baselineMiB + concurrency * WORKER_MEMORY.perTaskMiB + sidecarMiB;
  if (needed <= memoryLimitMiB) return [];
  const prop = service.propPath;
  const fits = Math.floor((memoryLimitMiB - WORKER_MEMORY.baselineMiB - sidecarMiB) / WORKER_MEMORY.perTaskMiB);
  const sidecarText = sidecars.length > 0 ? ` and ${sidecarMiB} MiB for ${sidecars.map(c => `${c.name} (${c.mib})`).join(', ')}` : '';
  return [`${prop}.concurrency (${concurrency}) is too high for ${prop}.memoryLimitMiB (${memoryLimitMiB}): a worker needs `
    + `${WORKER_MEMORY.baselineMiB} MiB of its own, ${WORKER_MEMORY.perTaskMiB} MiB per running task${sidecarText}, ${needed} MiB in all; `
    + (fits >= 1 ? `lower concurrency to ${fits} or raise memoryLimitMiB to ${needed} or more` : `raise memoryLimitMiB to ${needed} or more`)
    + ' (with a cpu that allows it)'];
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && !Token.isUnresolved(value) ? value : 0;
}

/**
 * The smallest task for an api-server, scheduler, dag-processor or triggerer: their busy peaks in the
 * local ECS runtime's resource scenario were 306-418 MiB (scheduler highest), before the sidecars
 * and the Service Connect proxy (pitfall #42b).
 */
const CONTROL_PLANE_MIN_MIB = 1024;

interface Derived {
  cpu: number;
  memoryLimitMiB: number;
  isWorker: boolean;
  isApiServer: boolean;
  hasNamespace: boolean;
  /** Airflow components in the task: 2 for a dag-processor with the triggerer. */
  processes: number;
}

function validate(problems: Problems, props: AirflowServiceProps, prop: string, d: Derived): void {
  const componentName = props.component.name;
  checkFargateSize(problems, prop, d.cpu, d.memoryLimitMiB);
  const minimumMiB = CONTROL_PLANE_MIN_MIB * d.processes;
  if (!d.isWorker && isConcrete(d.memoryLimitMiB) && d.memoryLimitMiB < minimumMiB) {
    const what = d.processes > 1 ? `the ${componentName} and the triggerer (withTriggerer), ${CONTROL_PLANE_MIN_MIB} MiB each` : `the ${componentName}`;
    problems.add(`${prop}.memoryLimitMiB (${d.memoryLimitMiB}) is too small for ${what}: Airflow's components peaked at up to 418 MiB in the `
      + `local ECS runtime, and the task also holds its sidecars and the Service Connect proxy; use ${minimumMiB} or more`);
  }
  if (props.withTriggerer && props.component !== AirflowComponent.DAG_PROCESSOR) {
    problems.add(`withTriggerer is set on the ${componentName} service; only the dag-processor's task can run the triggerer beside it: `
      + 'set it on the AirflowComponent.DAG_PROCESSOR service, or remove it');
  }
  checkCount(problems, `${prop}.desiredCount`, props.desiredCount, 0);
  if (props.autoscaled && props.desiredCount !== undefined) {
    problems.add(`${prop}.desiredCount (${props.desiredCount}) has no effect on an autoscaled service; use the scaling's minCapacity and maxCapacity`);
  }
  checkEnvironment(problems, props, AirflowOptions.of((props.image ?? AirflowImage.official()).airflowVersion), `${prop}.`);
  checkAcrossLevels(problems, [
    { prop: '', environment: props.deploymentEnvironment, secrets: props.deploymentSecrets },
    { prop: `${prop}.`, environment: props.environment, secrets: props.secrets },
  ]);
  if (!d.isWorker) {
    for (const [name, value] of [['concurrency', props.concurrency], ['queues', props.queues], ['poolName', props.poolName]] as const) {
      if (value !== undefined) problems.add(`${name} (${JSON.stringify(value)}) is only for AirflowComponent.CELERY_WORKER, not ${componentName}; remove it`);
    }
  }
  checkCount(problems, `${prop}.concurrency`, props.concurrency, 1);
  if (props.healthCheckGracePeriod && !d.isApiServer) {
    problems.add(`healthCheckGracePeriod is only for the load-balanced api-server, not ${componentName}; remove it (container health checks use their own start period)`);
  }
  if (props.healthCheckGracePeriod && !props.healthCheckGracePeriod.isUnresolved()) {
    const seconds = props.healthCheckGracePeriod.toSeconds();
    if (seconds < 300 || seconds > 600) {
      problems.add(`${prop}.healthCheckGracePeriod (${seconds} s) must be between 300 and 600 seconds: Airflow's api-server needs minutes to start, and the load balancer must not kill it first`);
    }
  }
  const storage = props.ephemeralStorageGiB;
  if (isConcrete(storage) && validEphemeralStorage(storage) === undefined) {
    problems.add(`${prop}.ephemeralStorageGiB (${storage}) must be a whole number from ${EPHEMERAL_STORAGE_GIB.min} to ${EPHEMERAL_STORAGE_GIB.max}; `
      + 'omit it for Fargate\'s 20 GiB, or raise it to 21 or more');
  }
  for (const q of props.queues ?? []) {
    if (isConcreteString(q) && !/^[A-Za-z0-9_.-]+$/.test(q)) problems.add(`${prop}.queues entry '${q}' is not a Celery queue name (letters, digits, _ . -)`);
  }
  if (props.queues !== undefined && props.queues.length === 0) {
    problems.add(props.poolName === undefined
      ? `${prop}.queues is empty, so the workers would take no task; omit it for ['default']`
      : `${prop}.queues names no queue, so the pool would take no task; list the queues its tasks name, for example ['${props.poolName}']`);
  }
  if (d.isWorker && !d.hasNamespace && props.executionApiServerUrl === undefined) {
    problems.add('the service joins no Service Connect namespace, so the workers cannot find the api-server\'s Execution API; '
      + 'pass serviceConnectNamespace, create the cluster with defaultCloudMapNamespace (as AirflowOnEcs does) or pass executionApiServerUrl');
  }
  if (isConcrete(props.parallelism) && (!Number.isInteger(props.parallelism) || props.parallelism < 1)) {
    problems.add(`parallelism (${props.parallelism}) must be a whole number >= 1`);
  }
}
