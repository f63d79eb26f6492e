import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cloudmap from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { AirflowComponent } from './common/airflow-component';
import { AirflowImage } from './common/airflow-image';
import { AirflowVersion } from './common/airflow-version';
import { DagSource } from './common/dag-source';
import { WebAccess } from './common/web-access';
import { AirflowOptions } from './private/airflow-options';
import { checkPostgresVersion } from './private/airflow-releases';
import { componentSpec } from './private/components';
import { managedEnvironmentNames, sharedEnvironment, sharedSecrets } from './private/config';
import { DEFAULTS, PORTS } from './private/defaults';
import { checkEnvironment } from './private/environment-check';
import { validateGitSync } from './private/git-sync-validation';
import { acknowledgeNag, NAG } from './private/nag';
import { Problems } from './private/validation';
import { postgresMaxConnections, validateWorkerAutoscaling } from './private/worker-scaling';
import { WorkerAutoscaling } from './scaling/worker-autoscaling';
import { AirflowDatabaseMigration } from './service/airflow-database-migration';
import { AirflowComponentOptions, AirflowService, AirflowTaskOptions, AirflowWorkerOptions } from './service/airflow-service';
import { AirflowStorage } from './storage/airflow-storage';

/**
 * Properties of `AirflowOnEcs`.
 */
export interface AirflowOnEcsProps {
  /**
   * The stateful half (VPC, database, broker, log bucket, secrets). Create it in its own stack
   * to destroy and recreate the services without touching your data.
   *
   * @default - a new `AirflowStorage` with default settings, inside this construct
   */
  readonly storage?: AirflowStorage;

  /**
   * The image every component runs.
   *
   * @default AirflowImage.official(AirflowVersion.latest())
   */
  readonly image?: AirflowImage;

  /**
   * The CPU architecture of every task.
   *
   * @default ecs.CpuArchitecture.ARM64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * Where DAG files come from: `DagSource.gitSync({ repository, branch, subPath, credentials })`
   * for a git-sync sidecar in the dag-processor, triggerer and workers, or
   * `DagSource.fromImage()` for DAGs baked into your image.
   *
   * @default DagSource.fromImage() - the image's /opt/airflow/dags
   */
  readonly dags?: DagSource;

  /**
   * How users reach the UI and the REST API.
   *
   * @default WebAccess.internal() - an internal load balancer, HTTP on port 80, reachable from the VPC only
   */
  readonly webAccess?: WebAccess;

  /**
   * The api-server.
   *
   * @default - 1 task of 1 vCPU and 2 GiB
   */
  readonly apiServer?: AirflowComponentOptions;

  /**
   * The scheduler.
   *
   * @default - 1 task of 1 vCPU and 2 GiB
   */
  readonly scheduler?: AirflowComponentOptions;

  /**
   * The dag-processor.
   *
   * @default - 1 task of 1 vCPU and 2 GiB
   */
  readonly dagProcessor?: AirflowComponentOptions;

  /**
   * The triggerer.
   *
   * @default - 1 task of 0.5 vCPU and 1 GiB
   */
  readonly triggerer?: AirflowComponentOptions;

  /**
   * The Celery workers: size, concurrency and queue-based scaling (0–10 workers, 75% on Fargate
   * Spot). `desiredCount` does not apply to workers; use `minCapacity` and `maxCapacity`.
   *
   * @default - 0 to 10 tasks of 1 vCPU and 3 GiB, each running 8 tasks at a time
   */
  readonly workers?: AirflowWorkerOptions;

  /**
   * Extra environment variables for every component and the migration task, for example
   * `{ AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' }`. `AIRFLOW__*` names are checked against
   * the configuration reference of the image's Airflow release: an unknown, misspelled or
   * deprecated option fails synth with the nearest valid one (list options the reference does
   * not know in `customOptions`). Variables the library manages cannot be set here. Never put
   * secrets here: use `secrets`.
   *
   * @default - none
   */
  readonly environment?: { [name: string]: string };

  /**
   * Extra secrets for every component and the migration task, injected by ECS as environment
   * variables when a task starts, for example
   * `{ AIRFLOW__SMTP__SMTP_PASSWORD: ecs.Secret.fromSecretsManager(secret) }`. The task
   * execution roles get read access. Names are checked like `environment`.
   *
   * @default - none
   */
  readonly secrets?: { [name: string]: ecs.Secret };

  /**
   * Airflow options that `environment` and `secrets` may set although the configuration
   * reference of the image's Airflow release does not list them, such as the options of a
   * provider you install in your image: `['AIRFLOW__MY_PROVIDER__ENDPOINT']`.
   *
   * @default - none: every AIRFLOW__* variable must be an option of the release
   */
  readonly customOptions?: string[];

  /**
   * The Airflow admin user, created on the first deployment with the password in
   * `storage.adminPasswordSecret`.
   *
   * @default 'admin'
   */
  readonly adminUsername?: string;

  /**
   * How long container logs are kept in CloudWatch Logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Production Apache Airflow 3 on ECS Fargate: api-server, scheduler, dag-processor, triggerer
 * and Celery workers, each its own service, wired to the storage's database and broker, with
 * migrations run once per deployment before the components start, Service Connect for the
 * workers' Execution API calls and a load balancer in front of the api-server.
 */
export class AirflowOnEcs extends Construct {
  /** The storage: VPC, database, broker, log bucket and secrets. */
  public readonly storage: AirflowStorage;
  /** The ECS cluster. */
  public readonly cluster: ecs.Cluster;
  /** The api-server service. */
  public readonly apiServer: AirflowService;
  /** The scheduler service. */
  public readonly scheduler: AirflowService;
  /** The dag-processor service. */
  public readonly dagProcessor: AirflowService;
  /** The triggerer service. */
  public readonly triggerer: AirflowService;
  /** The Celery worker service. */
  public readonly workers: AirflowService;
  /** The workers' queue-based autoscaling and Spot mix. */
  public readonly workerAutoscaling: WorkerAutoscaling;
  /** The migration task run once per deployment. */
  public readonly migration: AirflowDatabaseMigration;
  /** The load balancer in front of the api-server. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The load balancer's listener. */
  public readonly listener: elbv2.ApplicationListener;
  /** The api-server's target group. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The URL of the Airflow UI. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: AirflowOnEcsProps = {}) {
    super(scope, id);
    const webAccess = props.webAccess ?? WebAccess.internal();
    validate(props, webAccess);
    if (props.workers) validateWorkerAutoscaling(props.workers, 'workers.');
    if (props.dags?.gitSyncOptions) validateGitSync(props.dags.gitSyncOptions, 'dags.');

    this.storage = props.storage ?? new AirflowStorage(this, 'Storage');
    const vpc = this.storage.vpc;
    const image = props.image ?? AirflowImage.official();

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      // FARGATE and FARGATE_SPOT, for the workers' capacity-provider mix
      enableFargateCapacityProviders: true,
      // ECS Service Connect: workers reach the api-server at a stable name through a proxy that
      // knows which tasks are healthy (the story's "worker can't reach base URL", commit #46).
      defaultCloudMapNamespace: {
        name: DEFAULTS.serviceConnectNamespace,
        type: cloudmap.NamespaceType.HTTP,
        useForServiceConnect: true,
      },
    });

    // --- the load balancer in front of the api-server ---
    const https = webAccess.certificate !== undefined;
    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: `Airflow load balancer (${webAccess.internetFacing ? 'internet-facing' : 'internal'}, ${https ? 'HTTPS' : 'HTTP'})`,
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: webAccess.internetFacing,
      vpcSubnets: { subnetType: webAccess.internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: lbSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    const listenerPort = https ? 443 : 80;
    this.listener = this.loadBalancer.addListener('Listener', {
      port: listenerPort,
      protocol: https ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      certificates: https ? [webAccess.certificate!] : undefined,
      sslPolicy: https ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
      open: false,
    });
    const peers = webAccess.allowedCidrs?.map(c => ec2.Peer.ipv4(c))
      ?? [webAccess.internetFacing ? ec2.Peer.anyIpv4() : ec2.Peer.ipv4(vpc.vpcCidrBlock)];
    for (const peer of peers) {
      lbSecurityGroup.addIngressRule(peer, ec2.Port.tcp(listenerPort), `Airflow UI and API from ${peer.uniqueId}`);
    }
    acknowledgeNag(this.loadBalancer, [NAG.loadBalancerAccessLogs]);
    if (!webAccess.internetFacing && webAccess.allowedCidrs === undefined) {
      acknowledgeNag(lbSecurityGroup, [NAG.vpcCidrIngress]);
    } else if (webAccess.mode === 'publicHttps' && webAccess.allowedCidrs === undefined) {
      acknowledgeNag(lbSecurityGroup, [NAG.publicLoadBalancer]);
    }
    if (webAccess.mode === 'publicHttpInsecure') {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:AirflowOnEcs.publicHttp',
        'webAccess is WebAccess.publicHttpInsecure(): the Airflow login and session cookies cross the internet unencrypted; use WebAccess.publicHttps({ certificate }) or WebAccess.internal() for anything but a short evaluation');
    }
    this.url = `${https ? 'https' : 'http'}://${webAccess.domainName ?? this.loadBalancer.loadBalancerDnsName}`;

    // --- the components ---
    const common = {
      cluster: this.cluster,
      storage: this.storage,
      image,
      customOptions: props.customOptions,
      cpuArchitecture: props.cpuArchitecture,
      baseUrl: this.url,
      logRetention: props.logRetention,
      dags: props.dags,
    };
    checkGlobalEnvironment(this.storage, image, props);
    const postgres = this.storage.databaseEngineMajorVersion && !Token.isUnresolved(this.storage.databaseEngineMajorVersion)
      ? checkPostgresVersion(image.airflowVersion, this.storage.databaseEngineMajorVersion) : undefined;
    if (postgres) throw new Error(`AirflowOnEcs: ${postgres}`);
    if (image.airflowVersion.isNewerThanTested) {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:AirflowVersion.untested',
        `Airflow ${image.airflowVersion.version} is newer than the newest release cdk-airflow-ecs is tested with (${AirflowVersion.latest().version}); `
        + `the configuration is checked against ${AirflowOptions.of(image.airflowVersion).airflowVersion}'s options. Deploy it to a test environment first, or use AirflowVersion.latest()`);
    }
    const withGlobalEnv = <T extends AirflowTaskOptions>(options: T | undefined): T => ({
      ...options,
      environment: { ...props.environment, ...options?.environment },
      secrets: { ...props.secrets, ...options?.secrets },
    } as T);
    this.apiServer = new AirflowService(this, 'ApiServer', {
      ...common, ...withGlobalEnv(props.apiServer), component: AirflowComponent.API_SERVER,
    });
    this.scheduler = new AirflowService(this, 'Scheduler', {
      ...common, ...withGlobalEnv(props.scheduler), component: AirflowComponent.SCHEDULER,
    });
    this.dagProcessor = new AirflowService(this, 'DagProcessor', {
      ...common, ...withGlobalEnv(props.dagProcessor), component: AirflowComponent.DAG_PROCESSOR,
    });
    this.triggerer = new AirflowService(this, 'Triggerer', {
      ...common, ...withGlobalEnv(props.triggerer), component: AirflowComponent.TRIGGERER,
    });
    const {
      concurrency, queues, minCapacity, maxCapacity, scaleInCooldown, maxQueueWait, spot, onDemandBase, spotPercent, ...workerOptions
    } = props.workers ?? {};
    this.workers = new AirflowService(this, 'Workers', {
      ...common, ...withGlobalEnv(workerOptions), component: AirflowComponent.CELERY_WORKER, workerConcurrency: concurrency, workerQueues: queues,
    });
    this.workerAutoscaling = new WorkerAutoscaling(this, 'WorkerAutoscaling', {
      workers: this.workers,
      scheduler: this.scheduler,
      minCapacity,
      maxCapacity,
      scaleInCooldown,
      maxQueueWait,
      spot,
      onDemandBase,
      spotPercent,
    });
    // A task may wait in the queue for a worker to start from zero: it must not be failed as
    // stuck, nor its Execution API token expire, before then. The same in every component.
    const queueWait = `${(maxQueueWait ?? Duration.seconds(DEFAULTS.workerScaling.maxQueueWaitSeconds)).toSeconds()}`;
    const slots = (maxCapacity ?? DEFAULTS.workerScaling.maxCapacity) * (this.workers.workerConcurrency ?? DEFAULTS.workers.concurrency);
    for (const s of [this.apiServer, this.scheduler, this.dagProcessor, this.triggerer, this.workers]) {
      for (const [name, value] of Object.entries(scalingEnvironment(queueWait, slots))) s.container.addEnvironment(name, value);
    }
    this.checkDatabaseConnections(maxCapacity ?? DEFAULTS.workerScaling.maxCapacity);

    this.targetGroup = this.listener.addTargets('ApiServer', {
      port: PORTS.apiServer,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.apiServer.service.loadBalancerTarget({ containerName: AirflowComponent.API_SERVER.name, containerPort: PORTS.apiServer })],
      healthCheck: {
        // Unauthenticated and database-free: the api-server is up. (`/api/v2/monitor/health`
        // answers 200 even when the scheduler is down, and the load balancer must not replace
        // api-servers because of that anyway.)
        path: '/api/v2/version',
        healthyHttpCodes: '200',
        interval: Duration.seconds(30),
        timeout: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 5,
      },
      deregistrationDelay: Duration.seconds(DEFAULTS.deregistrationDelaySeconds),
    });

    // --- who talks to whom ---
    // Workers call the Execution API (through Service Connect, on the api-server's port).
    this.apiServer.connections.allowFrom(this.workers, ec2.Port.tcp(PORTS.apiServer), 'Celery workers to the Execution API');
    // The api-server reads live task logs from the workers' and the triggerer's log servers.
    this.workers.connections.allowFrom(this.apiServer, ec2.Port.tcp(PORTS.workerLogs), 'api-server reads live task logs');
    this.triggerer.connections.allowFrom(this.apiServer, ec2.Port.tcp(PORTS.triggererLogs), 'api-server reads live trigger logs');

    // --- migrations: once per deployment, before any component is updated ---
    this.migration = new AirflowDatabaseMigration(this, 'Migration', {
      cluster: this.cluster,
      storage: this.storage,
      image,
      cpuArchitecture: props.cpuArchitecture,
      adminUsername: props.adminUsername,
      environment: props.environment,
      secrets: props.secrets,
      customOptions: props.customOptions,
      logRetention: props.logRetention,
    });
    for (const component of [this.apiServer, this.scheduler, this.dagProcessor, this.triggerer, this.workers]) {
      component.service.node.addDependency(this.migration.resource);
    }
  }

  /**
   * Warns when the connections Airflow may open exceed what the database accepts: RDS PostgreSQL
   * allows about instance memory / 9.5 MB connections.
   */
  private checkDatabaseConnections(maxWorkers: number): void {
    const instanceClass = this.storage.databaseInstanceClass;
    const capacity = instanceClass ? postgresMaxConnections(instanceClass) : undefined;
    if (capacity === undefined) return;
    const count = (s: AirflowService) => (s.service.node.defaultChild as ecs.CfnService).desiredCount as number ?? 1;
    // SQLAlchemy pool (5) + overflow (10) per Airflow process; each Celery worker process keeps a
    // result-backend connection; the scaling sidecars one each.
    const perProcess = 15;
    const concurrency = this.workers.workerConcurrency ?? DEFAULTS.workers.concurrency;
    const estimate = perProcess * (count(this.apiServer) + count(this.scheduler) + count(this.dagProcessor) + count(this.triggerer))
      + count(this.scheduler) + maxWorkers * (concurrency + 3);
    const usable = capacity - 3; // superuser_reserved_connections
    if (estimate > usable) {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:AirflowOnEcs.databaseConnections',
        `Airflow may open about ${estimate} database connections at workers.maxCapacity (${maxWorkers}) x workers.concurrency (${concurrency}), `
        + `but ${instanceClass} accepts about ${usable}; raise the database instance class (AirflowStorage database.instanceType), `
        + 'or lower workers.maxCapacity or workers.concurrency');
    }
  }

  /** Every component service, in a stable order. */
  public get services(): AirflowService[] {
    return [this.apiServer, this.scheduler, this.dagProcessor, this.triggerer, this.workers];
  }
}

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;

function validate(props: AirflowOnEcsProps, webAccess: WebAccess): void {
  const problems = new Problems();
  const scalingNames = Object.keys(scalingEnvironment('', 0));
  const envs: [string, { [name: string]: string } | undefined][] = [
    ['environment', props.environment], ['apiServer.environment', props.apiServer?.environment], ['scheduler.environment', props.scheduler?.environment],
    ['dagProcessor.environment', props.dagProcessor?.environment], ['triggerer.environment', props.triggerer?.environment], ['workers.environment', props.workers?.environment],
  ];
  for (const [prop, env] of envs) {
    for (const name of Object.keys(env ?? {}).filter(n => scalingNames.includes(n))) {
      const by = name === 'AIRFLOW__CORE__PARALLELISM' ? 'workers.maxCapacity x workers.concurrency' : 'workers.maxQueueWait';
      problems.add(`${prop}.${name} is set by ${by} (the same in every component); remove it and set ${by} instead`);
    }
  }
  for (const cidr of webAccess.allowedCidrs ?? []) {
    if (Token.isUnresolved(cidr)) continue;
    if (!IPV4_CIDR.test(cidr)) {
      problems.add(`webAccess.allowedCidrs entry '${cidr}' is not an IPv4 CIDR range; write it like '203.0.113.0/24' (a single address is '203.0.113.7/32')`);
    }
  }
  if (webAccess.allowedCidrs !== undefined && webAccess.allowedCidrs.length === 0) {
    problems.add('webAccess.allowedCidrs is an empty list, which would let nobody in; omit it for the default, or list the ranges that may reach Airflow');
  }
  const domain = webAccess.domainName;
  if (domain !== undefined && !Token.isUnresolved(domain) && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(domain)) {
    problems.add(`webAccess.domainName ('${domain}') is not a domain name; pass the bare host name such as 'airflow.example.com' (no scheme, no path)`);
  }
  problems.throwIfAny('AirflowOnEcs');
}

/** Environment variables that the worker scaling options set, in every component. */
function scalingEnvironment(queueWaitSeconds: string, slots: number): Record<string, string> {
  return {
    AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT: queueWaitSeconds,
    AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME: queueWaitSeconds,
    // The scheduler queues at most `parallelism` tasks; the workers scale on queued + running, so
    // parallelism must let every worker slot fill (Airflow's default of 32 would cap at 4 workers).
    AIRFLOW__CORE__PARALLELISM: `${slots}`,
  };
}

/**
 * Checks the top-level `environment` and `secrets` against the image's Airflow release and the
 * names the library manages in any component, naming those props (the components would otherwise
 * report them under their own names, once each).
 */
function checkGlobalEnvironment(storage: AirflowStorage, image: AirflowImage, props: AirflowOnEcsProps): void {
  const managed = managedEnvironmentNames({
    ...sharedEnvironment({ storage, executionApiServerUrl: '', baseUrl: 'x' }),
    ...Object.assign({}, ...AirflowComponent.all().map(c => componentSpec(c, image.airflowVersion).environment)),
    AIRFLOW__CORE__DAGS_FOLDER: '',
    AIRFLOW__CELERY__WORKER_CONCURRENCY: '',
  }, sharedSecrets(storage));
  const problems = new Problems();
  checkEnvironment(problems, {
    prop: 'environment',
    environment: props.environment,
    secretNames: Object.keys(props.secrets ?? {}),
    secretsProp: 'secrets',
    managed,
    options: AirflowOptions.of(image.airflowVersion),
    customOptions: props.customOptions,
    customOptionsProp: 'customOptions',
  });
  problems.throwIfAny('AirflowOnEcs');
}
