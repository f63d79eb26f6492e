import { Annotations, CfnOutput, Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cloudmap from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { AirflowComponent } from './common/airflow-component';
import { AirflowImage } from './common/airflow-image';
import { AirflowVersion } from './common/airflow-version';
import { ImageMirror } from './common/image-mirror';
import { IDagSource } from './dags/i-dag-source';
import { smtpSettings, validateSmtp } from './email/smtp';
import { SmtpOptions } from './email/smtp-options';
import { AirflowDatabaseMigration } from './migration/airflow-database-migration';
import { AirflowMetricsSidecar } from './operations/airflow-metrics';
import { AirflowMonitoring } from './operations/airflow-monitoring';
import { AirflowDatabaseCleanup, DatabaseCleanupOptions } from './operations/database-cleanup';
import { AirflowMonitoringOptions } from './operations/monitoring-options';
import { AirflowOptions } from './private/airflow-options';
import { checkPostgresVersion } from './private/airflow-releases';
import { STATSD_VARIABLES } from './private/config';
import { DEFAULTS, PORTS } from './private/defaults';
import { checkEnvironment, ecsSecretsOnly, warnPipAdditionalRequirements } from './private/environment-check';
import { Problems } from './private/validation';
import { AirflowWorkerOptions, WorkerPoolOptions } from './scaling/scaling-options';
import { validateMaxQueueWait, validateWorkerCapacity } from './scaling/validation';
import { WorkerAutoscaling } from './scaling/worker-autoscaling';
import { WorkerPool } from './scaling/worker-pool';
import { SecretsBackend } from './secrets-backend/secrets-backend';
import { AirflowService, AirflowServiceProps } from './service/airflow-service';
import { AirflowComponentOptions, ApiServerOptions } from './service/service-options';
import { SingleSignOn } from './sso/single-sign-on';
import { AirflowStorage } from './storage/airflow-storage';
import { storageFor } from './storage/cross-stack';
import { IAirflowStorage } from './storage/i-airflow-storage';
import { postgresMaxConnections } from './storage/postgres-connections';
import { WebAccess } from './web-access/web-access';

/**
 * Properties of `AirflowOnEcs`.
 */
export interface AirflowOnEcsProps {
  /**
   * The stateful half (VPC, database, broker, log bucket, secrets): an `AirflowStorage`, created
   * in its own stack to destroy and recreate the services without touching your data, or storage
   * deployed elsewhere (`AirflowStorage.fromStorageAttributes`).
   *
   * @default - a new `AirflowStorage` with default settings, inside this construct
   */
  readonly storage?: IAirflowStorage;

  /**
   * The ECS cluster. A cluster of your own needs the FARGATE and FARGATE_SPOT capacity providers
   * (`enableFargateCapacityProviders: true`); without a default Cloud Map namespace, one is
   * created for Service Connect.
   *
   * @default - a new cluster with Container Insights, both capacity providers and a Service Connect namespace
   */
  readonly cluster?: ecs.ICluster;

  /**
   * The subnets of every task (the components and the migration).
   *
   * @default - the VPC's private subnets with egress
   */
  readonly taskSubnets?: ec2.SubnetSelection;

  /**
   * The image every component runs.
   *
   * @default AirflowImage.official(AirflowVersion.latest())
   */
  readonly image?: AirflowImage;

  /**
   * Where the tasks pull the official image and git-sync from. By default each is copied at
   * deploy time, for the tasks' CPU architecture and under its upstream tag, into an ECR repository
   * of this stack, and every task pulls the copy: only the deployment that introduces a new release
   * pulls from Docker Hub or registry.k8s.io, once (Docker Hub allows 10 anonymous pulls per hour
   * per IP address, and Fargate caches no images). `ImageMirror.upstream()` pulls from the
   * upstream registries on every task start; `ImageMirror.ecr({ dockerHubCredentials })` copies with
   * your Docker Hub account. Your own images (`fromEcrRepository`, `fromAsset`, `withRequirements`)
   * are never copied.
   *
   * @default ImageMirror.ecr()
   */
  readonly imageMirror?: ImageMirror;

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
  readonly dags?: IDagSource;

  /**
   * How users reach the UI and the REST API.
   *
   * @default WebAccess.internalLoadBalancer() - an internal load balancer, HTTP on port 80, reachable from the VPC only
   */
  readonly webAccess?: WebAccess;

  /**
   * The api-server.
   *
   * @default - 1 task of 0.5 vCPU and 1 GiB
   */
  readonly apiServer?: ApiServerOptions;

  /**
   * The scheduler.
   *
   * @default - 1 task of 0.5 vCPU and 1 GiB
   */
  readonly scheduler?: AirflowComponentOptions;

  /**
   * The dag-processor; with `compactControlPlane`, the task that runs both it and the triggerer.
   *
   * @default - 1 task of 0.5 vCPU and 1 GiB; 0.5 vCPU and 2 GiB with `compactControlPlane`
   */
  readonly dagProcessor?: AirflowComponentOptions;

  /**
   * The triggerer. Must be unset with `compactControlPlane`, where the triggerer runs in the
   * dag-processor's task.
   *
   * @default - 1 task of 0.25 vCPU and 1 GiB
   */
  readonly triggerer?: AirflowComponentOptions;

  /**
   * Run the triggerer in the dag-processor's task, as a second essential container, instead of in
   * a service of its own: one Fargate task less, about $6 a month at list prices (0.5 vCPU and
   * 2 GiB instead of 0.5 vCPU and 1 GiB plus 0.25 vCPU and 1 GiB). The two then start, stop,
   * deploy and scale together, and when either fails its health check ECS replaces the task, so
   * both restart. `dagProcessor` sizes the shared task; `triggerer` must be unset.
   *
   * @default false - each in a service of its own
   */
  readonly compactControlPlane?: boolean;

  /**
   * The Celery workers: size, concurrency and queue-based scaling (0–10 workers, 75% on Fargate
   * Spot).
   *
   * @default - 0 to 10 tasks of 1 vCPU and 3 GiB, each running 8 tasks at a time
   */
  readonly workers?: AirflowWorkerOptions;

  /**
   * More pools of Celery workers beside `workers`, by name (lower-case letters, digits and
   * hyphens): each its own service consuming its own `queues`, with its own size, concurrency,
   * scaling and Spot mix, for example
   * `{ heavy: { queues: ['heavy'], cpu: 4096, memoryLimitMiB: 16384, maxCapacity: 3, spot: false } }`.
   * A task runs in a pool when its operator's `queue` is one of the pool's queues; every other
   * task runs on `workers` (queue `default`).
   *
   * @default - none: the `workers` pool runs every task
   */
  readonly workerPools?: { [name: string]: WorkerPoolOptions };

  /**
   * Extra environment variables for every component and the migration task, for example
   * `{ AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32' }`. `AIRFLOW__*` names are checked against
   * the configuration reference of the image's Airflow release: an unknown, misspelled or
   * deprecated option fails synth with the nearest valid one (list options the reference does
   * not know in `customOptions`). Variables the library sets cannot be set here; synth names the
   * option that sets them. Never put secrets here: use `secrets`.
   *
   * @default - none
   */
  readonly environment?: { [name: string]: string };

  /**
   * Extra secrets for every component and the migration task, injected by ECS as environment
   * variables when a task starts, for example
   * `{ AIRFLOW__SENTRY__SENTRY_DSN: ecs.Secret.fromSecretsManager(dsn) }`. The task execution
   * roles get read access. Names are checked like `environment`.
   *
   * @default - none
   */
  readonly secrets?: { [name: string]: ecs.Secret };

  /**
   * Email through an SMTP server (Amazon SES or any other): sets Airflow's [smtp] section in every
   * component and, with `credentials`, the `smtp_default` connection Airflow 3 takes the user name
   * and password from. For example
   * `{ host: Smtp.sesHost('eu-west-1'), fromAddress: 'airflow@example.com', credentials: ecs.Secret.fromSecretsManager(smtpSecret) }`.
   *
   * @default - no email settings: Airflow's defaults (localhost:25), so emails fail
   */
  readonly smtp?: SmtpOptions;

  /**
   * Single sign-on for the Airflow UI and REST API through the organization's identity provider,
   * with Airflow roles from its groups: `SingleSignOn.oidc({ issuerUrl, clientId, clientSecret,
   * rolesMapping: { 'airflow-admins': 'Admin' } })`. The api-server gets a generated
   * `webserver_config.py` (FAB auth manager, `AUTH_OAUTH`); password sign-in ends.
   *
   * @default - users sign in with a user name and password kept in the metadata database
   */
  readonly singleSignOn?: SingleSignOn;

  /**
   * Airflow's secrets backend: connections, variables and (optionally) configuration read from AWS
   * Secrets Manager (`SecretsBackend.secretsManager()`: secrets `airflow/connections/<conn id>` and
   * `airflow/variables/<key>`) or SSM Parameter Store (`SecretsBackend.parameterStore()`). Every
   * component's task role and the migration's may read under the prefixes, and nothing else.
   *
   * @default - none: connections and variables live in the metadata database (and `AIRFLOW_CONN_*` variables)
   */
  readonly secretsBackend?: SecretsBackend;

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

  /**
   * Alarms and a dashboard: `alarmTopic` routes every alarm of the deployment and failed
   * deployments; thresholds have defaults (README, "Operations").
   *
   * @default - every alarm and the dashboard, with no alarm actions
   */
  readonly monitoring?: AirflowMonitoringOptions;

  /**
   * `airflow db clean` on a schedule: deletes the metadata database's records older than the
   * retention, so that it does not grow until it is slow.
   *
   * @default - daily at 03:00 UTC, keeping 90 days
   */
  readonly databaseCleanup?: DatabaseCleanupOptions;

  /**
   * ECS Exec into every component's containers (`aws ecs execute-command`), each session logged
   * to the component's log group (with the library's cluster, or one whose exec logging is
   * `DEFAULT`). For one-off Airflow commands, `cliCommand()` needs no ECS Exec.
   *
   * @default false
   */
  readonly enableExecuteCommand?: boolean;
}

/**
 * Production Apache Airflow 3 on ECS Fargate: api-server, scheduler, dag-processor, triggerer
 * and Celery workers, each its own service, wired to the storage's database and broker, with
 * migrations run once per deployment before the components start, Service Connect for the
 * workers' Execution API calls and a load balancer in front of the api-server.
 */
export class AirflowOnEcs extends Construct {
  /** The storage: VPC, database, broker, log bucket and secrets. */
  public readonly storage: IAirflowStorage;
  /** The ECS cluster. */
  public readonly cluster: ecs.ICluster;
  /** The api-server service. */
  public readonly apiServer: AirflowService;
  /** The scheduler service. */
  public readonly scheduler: AirflowService;
  /** The dag-processor service. */
  public readonly dagProcessor: AirflowService;
  /**
   * The triggerer service; with `compactControlPlane`, the dag-processor's service, whose tasks run
   * both (`triggererContainer`).
   */
  public readonly triggerer: AirflowService;
  /** The Celery worker service of the `workers` pool. */
  public readonly workers: AirflowService;
  /** The queue-based autoscaling of the `workers` pool. */
  public readonly workerAutoscaling: WorkerAutoscaling;
  /** Every worker pool: `workers` first (named `default`), then each of `workerPools` by name. */
  public readonly workerPools: WorkerPool[];
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
  /**
   * Network access of everything that runs DAG code (Celery workers, triggerer, dag-processor),
   * for example `database.connections.allowDefaultPortFrom(airflow.taskConnections)`.
   */
  public readonly taskConnections: ec2.Connections;
  /** The deployment's alarms and dashboard. */
  public readonly monitoring: AirflowMonitoring;
  /** The scheduled `airflow db clean`. */
  public readonly databaseCleanup: AirflowDatabaseCleanup;
  /** The stack output with the URL of the Airflow UI. */
  public readonly urlOutput: CfnOutput;
  /** The stack output with the ARN of the secret holding the admin user's password. */
  public readonly adminPasswordSecretOutput: CfnOutput;
  private readonly taskSubnets?: ec2.SubnetSelection;

  constructor(scope: Construct, id: string, props: AirflowOnEcsProps = {}) {
    super(scope, id);
    const problems = new Problems(this);
    this.taskSubnets = props.taskSubnets;
    const image = props.image ?? AirflowImage.official();
    const workerOptions = props.workers ?? {};
    this.storage = props.storage ?? new AirflowStorage(this, 'Storage');
    // in another stack, the values a replacement changes come through SSM parameters, not exports
    const storage = storageFor(this, this.storage);
    const vpc = this.storage.vpc;
    validate(problems, props, image, this.storage);
    warnPipAdditionalRequirements(this, props.environment);
    if (image.airflowVersion.isNewerThanTested) {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:AirflowVersion.untested',
        `Airflow ${image.airflowVersion.version} is newer than the newest release cdk-airflow-ecs is tested with (${AirflowVersion.latest().version}); `
        + `the configuration is checked against ${AirflowOptions.of(image.airflowVersion).airflowVersion}'s options. Deploy it to a test environment first, or use AirflowVersion.latest()`);
    }

    // ECS Service Connect: workers reach the api-server at a stable name through a proxy that
    // knows which tasks are healthy (docs/pitfalls.md, #46).
    this.cluster = props.cluster ?? new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      // FARGATE and FARGATE_SPOT, for the workers' capacity-provider mix
      enableFargateCapacityProviders: true,
      defaultCloudMapNamespace: { name: DEFAULTS.serviceConnectNamespace, type: cloudmap.NamespaceType.HTTP, useForServiceConnect: true },
    });
    const namespace = this.cluster.defaultCloudMapNamespace
      ?? new cloudmap.HttpNamespace(this, 'ServiceConnectNamespace', { name: DEFAULTS.serviceConnectNamespace });

    const web = (props.webAccess ?? WebAccess.internalLoadBalancer()).bind(this, { vpc });
    this.loadBalancer = web.loadBalancer;
    this.listener = web.listener;
    this.url = web.url;

    // --- the components: one table, one service each; then the worker pools ---
    const pools = Object.entries(props.workerPools ?? {}).filter(([name]) => isValidPoolName(name));
    const poolSizes = [workerOptions, ...pools.map(([, o]) => o)].map(o => ({
      maxWorkers: o.maxCapacity ?? DEFAULTS.workerScaling.maxCapacity,
      concurrency: o.concurrency ?? DEFAULTS.workers.concurrency,
    }));
    const email = props.smtp && smtpSettings(props.smtp);
    const sizesKnown = poolSizes.every(p => !Token.isUnresolved(p.maxWorkers) && !Token.isUnresolved(p.concurrency));
    const shared: Omit<AirflowServiceProps, 'component'> = {
      cluster: this.cluster,
      serviceConnectNamespace: namespace,
      storage,
      image,
      imageMirror: props.imageMirror,
      cpuArchitecture: props.cpuArchitecture,
      baseUrl: this.url,
      logRetention: props.logRetention,
      dags: props.dags,
      vpcSubnets: props.taskSubnets,
      customOptions: props.customOptions,
      deploymentEnvironment: { ...props.environment, ...email?.environment },
      deploymentSecrets: { ...props.secrets, ...email?.secrets },
      enableExecuteCommand: props.enableExecuteCommand,
      secretsBackend: props.secretsBackend,
      // a task may wait for a worker to start from zero: neither failed as stuck nor its token expired
      maxQueueWait: workerOptions.maxQueueWait ?? Duration.seconds(DEFAULTS.workerScaling.maxQueueWaitSeconds),
      // the scheduler queues at most `parallelism` tasks; workers scale on queued + running, so every
      // worker slot of every pool must be fillable (Airflow's default of 32 would cap at 4 workers of 8)
      parallelism: sizesKnown ? poolSizes.reduce((sum, p) => sum + p.maxWorkers * p.concurrency, 0) : undefined,
    };
    const compact = props.compactControlPlane ?? false;
    const components: { component: AirflowComponent; id: string; options: Partial<AirflowServiceProps> }[] = [
      { component: AirflowComponent.API_SERVER, id: 'ApiServer', options: { ...props.apiServer, singleSignOn: props.singleSignOn } },
      { component: AirflowComponent.SCHEDULER, id: 'Scheduler', options: props.scheduler ?? {} },
      {
        component: AirflowComponent.DAG_PROCESSOR,
        id: 'DagProcessor',
        options: { ...props.dagProcessor, withTriggerer: compact },
      },
      ...(compact ? [] : [{ component: AirflowComponent.TRIGGERER, id: 'Triggerer', options: props.triggerer ?? {} }]),
      { component: AirflowComponent.CELERY_WORKER, id: 'Workers', options: workerServiceOptions(workerOptions) },
    ];
    const services = new Map(components.map(c => [c.component, new AirflowService(this, c.id, { ...shared, ...c.options, component: c.component })]));
    this.apiServer = services.get(AirflowComponent.API_SERVER)!;
    this.scheduler = services.get(AirflowComponent.SCHEDULER)!;
    this.dagProcessor = services.get(AirflowComponent.DAG_PROCESSOR)!;
    this.triggerer = services.get(AirflowComponent.TRIGGERER) ?? this.dagProcessor;
    this.workers = services.get(AirflowComponent.CELERY_WORKER)!;
    this.workerAutoscaling = this.addScaling('WorkerAutoscaling', this.workers, workerOptions);
    this.workerPools = [
      { name: 'default', queues: this.workers.queues!, service: this.workers, autoscaling: this.workerAutoscaling },
      ...pools.map(([name, options]) => {
        const poolId = `WorkerPool${name.split('-').map(w => w[0].toUpperCase() + w.slice(1)).join('')}`;
        const service = new AirflowService(this, poolId, {
          ...shared,
          // a pool takes only the tasks of its queues: without any, synth says so
          ...workerServiceOptions({ ...options, queues: options.queues ?? [] }),
          component: AirflowComponent.CELERY_WORKER,
          poolName: name,
        });
        return { name, queues: service.queues!, service, autoscaling: this.addScaling(`${poolId}Autoscaling`, service, options) };
      }),
    ];
    this.taskConnections = new ec2.Connections({
      securityGroups: unique([...this.workerPools.map(p => p.service), this.triggerer, this.dagProcessor]).map(s => s.securityGroup),
    });
    this.checkDatabaseConnections(poolSizes, sizesKnown);

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
    for (const { service, name } of this.workerPools) {
      const ofPool = name === 'default' ? '' : ` (pool ${name})`;
      // Workers call the Execution API (through Service Connect, on the api-server's port).
      this.apiServer.connections.allowFrom(service, ec2.Port.tcp(PORTS.apiServer), `Celery workers${ofPool} to the Execution API`);
      // The api-server reads live task logs from the workers' and the triggerer's log servers.
      service.connections.allowFrom(this.apiServer, ec2.Port.tcp(PORTS.workerLogs), `api-server reads live task logs${ofPool}`);
    }
    this.triggerer.connections.allowFrom(this.apiServer, ec2.Port.tcp(PORTS.triggererLogs), 'api-server reads live trigger logs');

    // --- migrations: once per deployment, before any component is updated ---
    this.migration = new AirflowDatabaseMigration(this, 'Migration', {
      cluster: this.cluster,
      storage,
      image,
      imageMirror: props.imageMirror,
      cpuArchitecture: props.cpuArchitecture,
      adminUsername: props.adminUsername,
      environment: props.environment,
      secrets: props.secrets,
      customOptions: props.customOptions,
      logRetention: props.logRetention,
      vpcSubnets: props.taskSubnets,
      secretsBackend: props.secretsBackend,
    });
    for (const service of this.services) service.service.node.addDependency(this.migration.resource);
    // Service Connect names resolve only in tasks started after the server's endpoint exists: on
    // the first deployment the workers, which call the Execution API, start after the api-server.
    for (const { service } of this.workerPools) service.service.node.addDependency(this.apiServer.service);

    this.databaseCleanup = new AirflowDatabaseCleanup(this, 'DatabaseCleanup', {
      ...props.databaseCleanup,
      cluster: this.cluster,
      storage,
      image,
      imageMirror: props.imageMirror,
      cpuArchitecture: props.cpuArchitecture,
      environment: props.environment,
      secrets: ecsSecretsOnly(props.secrets),
      logRetention: props.logRetention,
      vpcSubnets: props.taskSubnets,
      secretsBackend: props.secretsBackend,
    });

    // Airflow's StatsD metrics, from every component that emits any worth publishing (the
    // api-server emits none of them)
    if (props.monitoring?.airflowMetrics ?? true) {
      for (const service of this.services.filter(s => s !== this.apiServer)) {
        AirflowMetricsSidecar.of(service);
      }
    }
    // what a user needs after `cdk deploy`, in the deploy output (the README's one-stack example)
    this.urlOutput = new CfnOutput(this, 'Url', {
      value: this.url,
      description: 'The Airflow UI and REST API',
    });
    const admin = props.adminUsername ?? DEFAULTS.adminUsername;
    this.adminPasswordSecretOutput = new CfnOutput(this, 'AdminPasswordSecret', {
      value: this.storage.adminPasswordSecret.secretArn,
      // a description is a literal in CloudFormation: no token in it
      description: `The password of the Airflow user ${Token.isUnresolved(admin) ? '(adminUsername)' : admin}: `
        + 'aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this ARN>',
    });

    this.monitoring = new AirflowMonitoring(this, 'Monitoring', {
      ...props.monitoring,
      storage,
      services: this.services,
      workerPools: this.workerPools,
      loadBalancer: this.loadBalancer,
      targetGroup: this.targetGroup,
    });
  }

  /**
   * An `aws ecs run-task` command line that runs one Airflow CLI command as a one-off task (on the
   * migration's task definition, with its database access and settings; the output is in the
   * migration's log group). Put it in a `CfnOutput`, for example
   * `airflow.cliCommand(['dags', 'list'])`. The task has no terminal: a command that prompts fails.
   *
   * @param args the arguments after `airflow`
   */
  public cliCommand(args: string[]): string {
    const overrides = JSON.stringify({ containerOverrides: [{ name: this.migration.container.containerName, command: ['airflow', ...args] }] });
    const subnets = this.cluster.vpc.selectSubnets(this.taskSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    const network = `awsvpcConfiguration={subnets=[${subnets.join(',')}],securityGroups=[${this.migration.securityGroup.securityGroupId}],assignPublicIp=DISABLED}`;
    return [
      'aws ecs run-task',
      `--cluster ${this.cluster.clusterName}`,
      '--launch-type FARGATE',
      `--task-definition ${this.migration.taskDefinition.taskDefinitionArn}`,
      `--network-configuration '${network}'`,
      `--overrides ${shellQuote(overrides)}`,
    ].join(' ');
  }

  /** Every component service, in a stable order (the dag-processor's once, with `compactControlPlane`). */
  public get services(): AirflowService[] {
    return unique([this.apiServer, this.scheduler, this.dagProcessor, this.triggerer, ...this.workerPools.map(p => p.service)]);
  }

  /**
   * Task instances queued on the workers' queues (Maximum per minute by default).
   *
   * @param props metric options
   */
  public metricQueuedTasks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.workerAutoscaling.metricQueuedTasks(props);
  }

  /**
   * Task instances running on the workers' queues (Maximum per minute by default).
   *
   * @param props metric options
   */
  public metricRunningTasks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.workerAutoscaling.metricRunningTasks(props);
  }

  /**
   * The workers the queue needs (Maximum per minute by default).
   *
   * @param props metric options
   */
  public metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.workerAutoscaling.metricDesiredWorkers(props);
  }

  /**
   * Failed git-sync syncs across every component that syncs DAGs (Sum over 5 minutes by default).
   * Only when DAGs come from git (`DagSource.gitSync`).
   *
   * @param props metric options
   */
  public metricGitSyncErrors(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    const metrics = this.services.map(s => s.dagSource?.syncErrorsMetric).filter((m): m is cloudwatch.IMetric => m !== undefined);
    if (metrics.length === 0) {
      throw new Error('metricGitSyncErrors: the DAGs do not come from git (dags is not DagSource.gitSync), so nothing syncs and there is no error to count');
    }
    const usingMetrics = Object.fromEntries(metrics.map((m, i) => [`m${i}`, m]));
    return new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics).join(' + '),
      usingMetrics,
      label: 'git-sync errors',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Queue-driven scaling of one pool's worker service. */
  private addScaling(id: string, workers: AirflowService, options: WorkerPoolOptions): WorkerAutoscaling {
    const { minCapacity, maxCapacity, scaleInCooldown } = options;
    return new WorkerAutoscaling(this, id, { workers, scheduler: this.scheduler, minCapacity, maxCapacity, scaleInCooldown });
  }

  /**
   * Warns when the connections Airflow may open exceed what the database accepts: RDS PostgreSQL
   * allows about instance memory / 9.5 MB connections.
   */
  private checkDatabaseConnections(pools: { maxWorkers: number; concurrency: number }[], sizesKnown: boolean): void {
    const instanceClass = this.storage.databaseInstanceClass;
    const capacity = instanceClass && !Token.isUnresolved(instanceClass) ? postgresMaxConnections(instanceClass) : undefined;
    if (capacity === undefined || !sizesKnown) return;
    const count = (s: AirflowService) => (s.service.node.defaultChild as ecs.CfnService).desiredCount as number ?? 1;
    // SQLAlchemy pool (5) + overflow (10) per Airflow process; each Celery worker process keeps a
    // result-backend connection; the scaling sidecars one each.
    const perProcess = 15;
    const estimate = perProcess * (count(this.apiServer) + count(this.scheduler) + count(this.dagProcessor) + count(this.triggerer))
      + count(this.scheduler) + pools.reduce((sum, p) => sum + p.maxWorkers * (p.concurrency + 3), 0);
    const usable = capacity - 3; // superuser_reserved_connections
    if (estimate > usable) {
      const pairs = this.workerPools.map((p, i) => `${p.service.propPath} ${pools[i].maxWorkers} x ${pools[i].concurrency}`).join(', ');
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:AirflowOnEcs.databaseConnections',
        `Airflow may open about ${estimate} database connections with every worker pool at maxCapacity x concurrency (${pairs}), `
        + `but ${instanceClass} accepts about ${usable}; raise the database instance class (AirflowStorage database.instanceType), `
        + 'or lower maxCapacity or concurrency');
    }
  }
}

/** A worker pool's service settings (its scaling and Spot mix go elsewhere). */
function workerServiceOptions(options: AirflowWorkerOptions): Partial<AirflowServiceProps> {
  const { minCapacity, maxCapacity, scaleInCooldown, maxQueueWait, spot, onDemandBase, spotPercent, ...service } = options;
  return {
    ...service,
    autoscaled: true,
    capacityProviderStrategies: WorkerAutoscaling.capacityProviderStrategies({ spot, onDemandBase, spotPercent }),
  };
}

/** Each once, in their first order. */
function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** A single-quoted shell word. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

const POOL_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

function isValidPoolName(name: string): boolean {
  return POOL_NAME.test(name) && name.length <= 32 && name !== 'default';
}

/** What only the whole deployment can check; each child checks its own props. */
function validate(problems: Problems, props: AirflowOnEcsProps, image: AirflowImage, storage: IAirflowStorage): void {
  checkEnvironment(problems, props, AirflowOptions.of(image.airflowVersion));
  if (props.monitoring?.airflowMetrics ?? true) {
    const settings: [string, { environment?: Record<string, string> } | undefined][] = [
      ['', props], ['apiServer.', props.apiServer], ['scheduler.', props.scheduler], ['dagProcessor.', props.dagProcessor],
      ['triggerer.', props.triggerer], ['workers.', props.workers],
      ...Object.entries(props.workerPools ?? {}).map(([name, pool]) => [`workerPools.${name}.`, pool] as [string, typeof pool]),
    ];
    for (const [prefix, options] of settings) {
      for (const name of Object.keys(options?.environment ?? {}).filter(n => STATSD_VARIABLES.includes(n))) {
        problems.add(`${prefix}environment.${name} is set by cdk-airflow-ecs while monitoring.airflowMetrics is on (Airflow sends StatsD to the airflow-metrics sidecar); `
          + 'remove it, or set monitoring.airflowMetrics: false to send StatsD elsewhere');
      }
    }
  }
  if (props.compactControlPlane && props.triggerer !== undefined) {
    problems.add(`triggerer (${JSON.stringify(Object.keys(props.triggerer))}) is set with compactControlPlane, where the triggerer runs in the dag-processor's task: `
      + 'size the shared task with dagProcessor (cpu, memoryLimitMiB, desiredCount) and set its environment there, or remove compactControlPlane');
  }
  validateWorkerCapacity(problems, props.workers ?? {}, 'workers.');
  for (const [name, pool] of Object.entries(props.workerPools ?? {})) {
    if (name === 'default') {
      problems.add("workerPools.default: 'default' is the name of the workers pool; set its options in workers, or give this pool another name");
    } else if (!isValidPoolName(name)) {
      problems.add(`workerPools: the pool name '${name}' must be lower-case letters, digits and single hyphens, starting with a letter, at most 32 characters, such as 'heavy' or 'gpu-large'`);
    } else {
      validateWorkerCapacity(problems, pool, `workerPools.${name}.`);
    }
  }
  validateMaxQueueWait(problems, props.workers?.maxQueueWait, 'workers.maxQueueWait');
  if (props.smtp) validateSmtp(problems, props.smtp);
  const postgres = storage.databaseEngineMajorVersion;
  const unsupported = postgres && !Token.isUnresolved(postgres) ? checkPostgresVersion(image.airflowVersion, postgres) : undefined;
  if (unsupported) problems.add(unsupported);
}
