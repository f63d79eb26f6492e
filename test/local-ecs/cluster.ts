/**
 * The deployment of a cloud assembly on one machine: the stand-ins for AWS's managed services,
 * then the migration task (through the library's own migration-runner handlers, as the custom
 * resource runs it), then one ECS service scheduler per AWS::ECS::Service that keeps its desired
 * count of tasks running, registers them with the load balancer's target group, replaces unhealthy
 * ones, honours scale-in protection, and resolves Service Connect names for its clients.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { EcsAgent } from './agent';
import { Deployment, DeploymentOptions, ResourceRef, StackArtifact } from './assembly';
import { CertificateAuthority } from './ca';
import { Images } from './images';
import { HealthCheckSpec, ListenerSpec, LoadBalancer, TargetGroupSpec } from './load-balancer';
import { log } from './log';
import { Moto, PostgresInstance, ValkeyInstance } from './managed';
import { Network, securityGroups } from './network';
import { ensureTools } from './python-env';
import { sleep, Task, TaskEnvironment } from './task';

export interface ClusterOptions extends DeploymentOptions {
  /** The cloud assembly directory. */
  readonly assembly: string;
  /** DAG files for images that bake DAGs in (the official image's /opt/airflow/dags). */
  readonly dags?: string;
  /** Image names to run as another image. */
  readonly imageAliases?: Record<string, string>;
  /** Where the run keeps data that outlives it (databases), for a later deployment of the same app. */
  readonly stateDir: string;
  /** An earlier deployment of the same app: its generated secrets are kept, as a stack update keeps them. */
  readonly previous?: LocalEcs;
  /** Interface name prefix (up to 6 characters). */
  readonly prefix?: string;
  /** How often application auto scaling evaluates its alarms. @default 20 s */
  readonly scalingIntervalSeconds?: number;
}

interface ServiceConnectServer {
  readonly namespace: string;
  readonly dnsName: string;
  readonly port: number;
}

/** One AWS::ECS::Service and its scheduler. */
export class EcsService {
  public desiredCount: number;
  public readonly tasks: Task[] = [];
  public readonly props: any;
  public readonly name: string;
  /**
   * The service's deployments, newest (PRIMARY) first; each task belongs to the one that started
   * it. A rolling update (`newDeployment`) starts the new deployment's tasks, then stops the old
   * deployment's tasks as ECS does: never one that is protected from scale-in.
   */
  public readonly deployments: { id: string; createdAt: number; reason: string }[] = [];
  private counter = 0;
  private reconciling = false;

  constructor(public readonly ecs: LocalEcs, public readonly ref: ResourceRef) {
    this.props = ecs.deployment.resolve(ref.stack, ref.resource.Properties);
    this.name = this.props.ServiceName ?? ecs.deployment.attribute(ref.stack, ref.logicalId, 'Name');
    // CloudFormation creates a service without DesiredCount with one task
    this.desiredCount = this.props.DesiredCount === undefined ? 1 : Number(this.props.DesiredCount);
    if (this.props.LaunchType === 'EC2' || this.props.LaunchType === 'EXTERNAL') {
      throw new Error(`${ref.stack.id}/${ref.logicalId}: the local ECS runtime cannot run launch type ${this.props.LaunchType} (only Fargate)`);
    }
    for (const s of this.props.CapacityProviderStrategy ?? []) {
      if (!['FARGATE', 'FARGATE_SPOT'].includes(s.CapacityProvider)) {
        throw new Error(`${ref.stack.id}/${ref.logicalId}: the local ECS runtime cannot run capacity provider ${s.CapacityProvider} (only FARGATE and FARGATE_SPOT)`);
      }
    }
    this.newDeployment('created by CloudFormation');
  }

  /** The PRIMARY deployment's id. */
  public get primaryDeployment(): string {
    return this.deployments[0].id;
  }

  /**
   * Starts a new deployment (what an `UpdateService` with a new task definition revision does):
   * from now on the service scheduler runs the desired count of new tasks and stops the old ones.
   */
  public newDeployment(reason: string): string {
    const id = `ecs-svc/${Date.now()}${String(this.deployments.length).padStart(3, '0')}`;
    this.deployments.unshift({ id, createdAt: Date.now(), reason });
    return id;
  }

  /** Tasks of a deployment other than the primary one that are still running. */
  public get oldTasks(): Task[] {
    return this.running.filter(t => t.launch.startedBy !== this.primaryDeployment);
  }

  /** The service's task definition, resolved. */
  public get taskDefinition(): any {
    const d = this.ecs.deployment;
    return d.resolve(this.ref.stack, d.resource(this.ref.stack, this.taskDefinitionLogicalId).resource.Properties);
  }

  public get taskDefinitionLogicalId(): string {
    const found = this.ecs.deployment.findByRef(this.props.TaskDefinition, 'AWS::ECS::TaskDefinition');
    if (!found) throw new Error(`${this.ref.logicalId}: task definition ${this.props.TaskDefinition} is not in the assembly`);
    return found.logicalId;
  }

  /**
   * A short name for task ids: the essential container's name, or, for a second service running
   * the same container (another worker pool), its logical id in kebab case without the hash and
   * the trailing `Service` (`AirflowWorkerPoolHeavyServiceBE303B53` -> `airflow-worker-pool-heavy`).
   */
  public get shortName(): string {
    const name = this.containerName;
    const first = this.ecs.services.find(s => s.containerName === name);
    if (!first || first === this) return name;
    return this.ref.logicalId.replace(/[0-9A-F]{8}$/, '').replace(/(Service)+$/, '').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  }

  /** The essential container's name. */
  public get containerName(): string {
    const td = this.taskDefinition;
    const essential = td.ContainerDefinitions.find((c: any) => c.Essential !== false && !c.EntryPoint) ?? td.ContainerDefinitions[0];
    return essential.Name;
  }

  public get running(): Task[] {
    return this.tasks.filter(t => t.status !== 'STOPPED' && t.status !== 'STOPPING');
  }

  public get serviceConnectServers(): ServiceConnectServer[] {
    const sc = this.props.ServiceConnectConfiguration;
    if (!sc?.Enabled) return [];
    const td = this.taskDefinition;
    return (sc.Services ?? []).flatMap((s: any) => (s.ClientAliases ?? [{ DnsName: s.DiscoveryName ?? s.PortName }]).map((a: any) => {
      const mapping = td.ContainerDefinitions.flatMap((c: any) => c.PortMappings ?? []).find((p: any) => p.Name === s.PortName);
      if (!mapping) throw new Error(`${this.ref.logicalId}: Service Connect port name ${s.PortName} is not a port mapping of the task definition`);
      const port = Number(a.Port ?? mapping.ContainerPort);
      if (port !== Number(mapping.ContainerPort)) {
        throw new Error(`${this.ref.logicalId}: Service Connect alias ${a.DnsName}:${port} differs from the container port ${mapping.ContainerPort}; the local ECS runtime resolves names, it runs no proxy`);
      }
      return { namespace: this.namespace!, dnsName: a.DnsName, port };
    }));
  }

  /** The Service Connect namespace the service's tasks are clients of. */
  public get namespace(): string | undefined {
    const sc = this.props.ServiceConnectConfiguration;
    return sc?.Enabled ? sc.Namespace : undefined;
  }

  public async startTask(): Promise<Task> {
    const net = this.props.NetworkConfiguration?.AwsvpcConfiguration;
    if (!net) throw new Error(`${this.ref.logicalId}: no awsvpc network configuration`);
    const task = new Task(this.ecs.taskEnvironment, {
      id: `${this.shortName}-${++this.counter}`,
      stack: this.ref.stack,
      taskDefinitionLogicalId: this.taskDefinitionLogicalId,
      clusterArn: this.ecs.clusterArn(this.ref.stack, this.props.Cluster),
      subnetIds: net.Subnets,
      securityGroupIds: net.SecurityGroups ?? [],
      serviceName: this.name,
      startedBy: this.primaryDeployment,
    });
    this.tasks.push(task);
    await task.start();
    return task;
  }

  /** One round of the service scheduler. */
  public async reconcile(): Promise<void> {
    if (this.reconciling || this.ecs.stopping) return;
    this.reconciling = true;
    try {
      // replace tasks whose essential container is unhealthy, or that the load balancer finds unhealthy after the grace period
      const grace = Number(this.props.HealthCheckGracePeriodSeconds ?? 0) * 1000;
      for (const t of this.running.filter(x => x.status === 'RUNNING')) {
        if (t.health === 'UNHEALTHY') {
          void this.stopTask(t, 'Task failed container health checks');
        } else if (this.props.LoadBalancers?.length && Date.now() - (t.runningAt ?? Date.now()) > grace) {
          for (const lb of this.props.LoadBalancers) {
            const target = this.ecs.loadBalancerOf(lb.TargetGroupArn)?.health(lb.TargetGroupArn).find(x => x.id === t.id);
            if (target?.state === 'unhealthy') void this.stopTask(t, `Task failed ELB health checks in (target-group ${lb.TargetGroupArn})`);
          }
        }
      }
      // the primary deployment's tasks to the desired count; the old deployments' tasks stopped
      // once the new ones run (minimum healthy 100%), except those protected from scale-in
      const running = this.running.filter(t => t.launch.startedBy === this.primaryDeployment);
      const old = this.oldTasks;
      if (running.length < this.desiredCount) {
        const recent = this.tasks.filter(t => t.status === 'STOPPED' && Date.now() - (t.stoppedAt ?? 0) < 10_000).length;
        if (recent < 3) await this.startTask(); // one at a time, with a back-off after failures
      } else if (running.length > this.desiredCount) {
        const candidates = running.filter(t => !this.ecs.agent.isProtected(t.arn));
        const excess = running.length - this.desiredCount;
        for (const t of candidates.slice(-excess)) void this.stopTask(t, 'Scaling activity initiated by (deployment)');
      }
      if (old.length > 0 && running.filter(t => t.status === 'RUNNING').length >= this.desiredCount) {
        for (const t of old.filter(x => !this.ecs.agent.isProtected(x.arn))) {
          void this.stopTask(t, `Scaling activity initiated by (deployment ${this.primaryDeployment})`);
        }
      }
      // register running tasks with their target groups
      for (const t of this.running.filter(x => x.status === 'RUNNING')) {
        for (const lb of this.props.LoadBalancers ?? []) {
          const balancer = this.ecs.loadBalancerOf(lb.TargetGroupArn);
          if (balancer && !balancer.health(lb.TargetGroupArn).some(x => x.id === t.id)) {
            balancer.register(lb.TargetGroupArn, t.id, t.endpoint!.ip, Number(lb.ContainerPort));
          }
        }
      }
    } finally {
      this.reconciling = false;
    }
  }

  /** Deregisters the task from its target groups (waiting the deregistration delay), then stops it. */
  public async stopTask(t: Task, reason: string): Promise<void> {
    if (t.status === 'STOPPING' || t.status === 'STOPPED') return;
    t.status = 'STOPPING'; // no longer counted as running: a replacement may start while it drains
    await Promise.all((this.props.LoadBalancers ?? []).map((lb: any) =>
      this.ecs.loadBalancerOf(lb.TargetGroupArn)?.deregister(lb.TargetGroupArn, t.id)));
    await t.stop(reason);
  }
}

/** Application Auto Scaling step policies driven by CloudWatch alarms, evaluated against moto. */
interface ScalingRule {
  readonly service: EcsService;
  readonly min: number;
  readonly max: number;
  readonly alarm: any;
  readonly policy: any;
  readonly region: string;
}

export class LocalEcs {
  public deployment!: Deployment;
  public network!: Network;
  public agent!: EcsAgent;
  public moto!: Moto;
  public ca!: CertificateAuthority;
  public images!: Images;
  public readonly databases: PostgresInstance[] = [];
  public readonly brokers: ValkeyInstance[] = [];
  public readonly loadBalancers: LoadBalancer[] = [];
  public readonly services: EcsService[] = [];
  public readonly standaloneTasks: Task[] = [];
  public taskEnvironment!: TaskEnvironment;
  public stopping = false;
  /** Application auto scaling suspended (as `register-scalable-target --suspended-state`), for scenarios that need a fixed count. */
  public scalingSuspended = false;
  public migrationSeconds?: number;
  private readonly scaling: ScalingRule[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly runDir: string;
  private readonly layersDir: string;
  public readonly logsDir: string;
  private readonly prefix: string;
  private serviceConnectState = '';

  constructor(public readonly options: ClusterOptions) {
    this.prefix = options.prefix ?? 'lecs';
    this.runDir = path.join(options.stateDir, 'run');
    this.logsDir = path.join(this.runDir, 'logs');
    this.layersDir = path.join('/run', `${this.prefix}-layers`);
  }

  /** Creates everything the assembly describes and runs the migration; the services then start. */
  public async start(): Promise<void> {
    const o = this.options;
    const previousSecrets = o.previous ? Object.fromEntries(o.previous.deployment.secrets.filter(s => s.ref).map(s => [`${s.ref!.stack.id}/${s.ref!.logicalId}`, s.value])) : {};
    this.deployment = Deployment.load(o.assembly, { ...o, secretOverrides: { ...previousSecrets, ...o.secretOverrides } });
    fs.rmSync(this.runDir, { recursive: true, force: true });
    fs.mkdirSync(this.logsDir, { recursive: true });
    spawnSync('umount', ['-l', this.layersDir]);
    fs.mkdirSync(this.layersDir, { recursive: true });
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', this.layersDir]).status !== 0) {
      throw new Error(`could not mount a tmpfs on ${this.layersDir} (the local ECS runtime needs root)`);
    }
    this.ca = new CertificateAuthority(path.join(this.runDir, 'ca'));
    this.images = new Images(path.join(this.layersDir, 'images'), this.ca, { dags: o.dags, dagsFolder: this.environmentValue('AIRFLOW__CORE__DAGS_FOLDER'), aliases: o.imageAliases, copies: this.deployment.imageCopies() });

    const vpcs = this.deployment.resources('AWS::EC2::VPC');
    if (vpcs.length !== 1) throw new Error(`the local ECS runtime needs exactly one AWS::EC2::VPC in the assembly (it has ${vpcs.length}); imported VPCs are not supported`);
    const vpcCidr = this.deployment.attribute(vpcs[0].stack, vpcs[0].logicalId, 'CidrBlock');
    this.network = new Network(this.prefix, vpcCidr, securityGroups(this.deployment));
    this.network.create();
    this.agent = new EcsAgent();
    await this.agent.start();
    this.agent.ecsApi = (action, request) => this.ecsApi(action, request);
    const tools = ensureTools();
    this.moto = new Moto(tools, path.join(this.runDir, 'moto'), this.network.hostIp, 4566);
    await this.moto.start();

    this.taskEnvironment = {
      deployment: this.deployment,
      network: this.network,
      images: this.images,
      agent: this.agent,
      layersDir: this.layersDir,
      logsDir: this.logsDir,
      awsEndpointUrl: this.moto.url,
      hostsFile: t => this.hostsFile(t),
      onChange: () => this.refreshServiceConnect(),
    };

    await this.createManagedResources();
    for (const ref of this.deployment.resources('AWS::ECS::Service')) this.services.push(new EcsService(this, ref));
    this.createScalingRules();
  }

  /** The ECS API actions a container may call (the worker's drain check): DescribeTasks and DescribeServices. */
  private ecsApi(action: string, request: any): { status: number; body: unknown } {
    const all = [...this.services.flatMap(s => s.tasks.map(t => ({ t, s }))), ...this.standaloneTasks.map(t => ({ t, s: undefined }))];
    if (action === 'DescribeTasks') {
      const found = (request.tasks ?? []).map((arn: string) => all.find(x => x.t.arn === arn || x.t.arn.endsWith(`/${arn}`)));
      return {
        status: 200,
        body: {
          tasks: found.filter(Boolean).map(({ t, s }: { t: Task; s?: EcsService }) => ({
            taskArn: t.arn,
            clusterArn: t.launch.clusterArn,
            lastStatus: t.status,
            ...(s ? { group: `service:${s.name}`, startedBy: t.launch.startedBy } : { group: `family:${t.family}` }),
          })),
          failures: (request.tasks ?? []).filter((_: string, i: number) => !found[i]).map((arn: string) => ({ arn, reason: 'MISSING' })),
        },
      };
    }
    if (action === 'DescribeServices') {
      const found = (request.services ?? []).map((name: string) => this.services.find(s => s.name === name || name.endsWith(`/${s.name}`)));
      return {
        status: 200,
        body: {
          services: found.filter(Boolean).map((s: EcsService) => ({
            serviceName: s.name,
            desiredCount: s.desiredCount,
            runningCount: s.running.length,
            deployments: s.deployments
              .filter((d, i) => i === 0 || s.running.some(t => t.launch.startedBy === d.id))
              .map((d, i) => ({
                id: d.id,
                status: i === 0 ? 'PRIMARY' : 'ACTIVE',
                createdAt: d.createdAt / 1000,
                runningCount: s.running.filter(t => t.launch.startedBy === d.id).length,
              })),
          })),
          failures: (request.services ?? []).filter((_: string, i: number) => !found[i]).map((arn: string) => ({ arn, reason: 'MISSING' })),
        },
      };
    }
    return { status: 400, body: { __type: 'InvalidAction', message: `${action} is not served by the local ECS runtime` } };
  }

  /** Runs the migration custom resources, then starts the services, stack by stack. */
  public async deploy(options: { waitForServices?: boolean } = {}): Promise<void> {
    for (const stack of this.deployment.deploymentOrder()) {
      for (const ref of this.deployment.resources('Custom::AirflowDatabaseMigration').filter(r => r.stack === stack)) {
        await this.runMigration(ref);
      }
    }
    this.timers.push(setInterval(() => { for (const s of this.services) void s.reconcile(); }, 2000));
    const interval = (this.options.scalingIntervalSeconds ?? 20) * 1000;
    this.timers.push(setInterval(() => void this.evaluateScaling(), interval));
    for (const s of this.services) await s.reconcile();
    if (options.waitForServices) await this.waitForServices();
  }

  /** Waits until every service runs its desired count of tasks, each HEALTHY. */
  public async waitForServices(timeoutMs = 15 * 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.services.some(s => s.running.filter(t => t.status === 'RUNNING' && t.health === 'HEALTHY').length < s.desiredCount)) {
      if (Date.now() > deadline) {
        const state = this.services.map(s => `${s.shortName}: ${s.running.map(t => `${t.status}/${t.health}`).join(',') || 'none'} of ${s.desiredCount}`).join('; ');
        throw new Error(`services did not become healthy within ${timeoutMs / 1000} s: ${state}`);
      }
      await sleep(1000);
    }
  }

  /** A variable's value in the first container that sets it, resolved. */
  public environmentValue(name: string): string | undefined {
    for (const td of this.deployment.resources('AWS::ECS::TaskDefinition')) {
      for (const c of this.deployment.resolve(td.stack, td.resource.Properties).ContainerDefinitions ?? []) {
        const e = (c.Environment ?? []).find((x: any) => x.Name === name);
        if (e) return String(e.Value);
      }
    }
    return undefined;
  }

  public service(shortName: string): EcsService {
    const s = this.services.find(x => x.shortName === shortName);
    if (!s) throw new Error(`no service runs a container named ${shortName} (services: ${this.services.map(x => x.shortName).join(', ')})`);
    return s;
  }

  public clusterArn(stack: StackArtifact, clusterRef: string): string {
    const cluster = this.deployment.findByRef(clusterRef, 'AWS::ECS::Cluster') ?? this.deployment.resources('AWS::ECS::Cluster').find(c => this.deployment.attribute(c.stack, c.logicalId, 'Arn') === clusterRef);
    if (!cluster) return `arn:aws:ecs:${stack.region}:${stack.account}:cluster/${clusterRef}`;
    return this.deployment.attribute(cluster.stack, cluster.logicalId, 'Arn');
  }

  public loadBalancerOf(targetGroupArn: string): LoadBalancer | undefined {
    return this.loadBalancers.find(lb => lb.targetGroups.some(tg => tg.arn === targetGroupArn));
  }

  /** Runs a one-off task (as `aws ecs run-task`) and waits for it to stop. */
  public async runTask(
    stack: StackArtifact,
    taskDefinitionLogicalId: string,
    network: { subnets: string[]; securityGroups: string[] },
    idPrefix: string,
    commandOverrides?: Record<string, string[]>,
  ): Promise<Task> {
    const clusters = this.deployment.resources('AWS::ECS::Cluster');
    const task = new Task(this.taskEnvironment, {
      id: `${idPrefix}-${this.standaloneTasks.length + 1}`,
      stack,
      taskDefinitionLogicalId,
      clusterArn: this.deployment.attribute(clusters[0].stack, clusters[0].logicalId, 'Arn'),
      subnetIds: network.subnets,
      securityGroupIds: network.securityGroups,
      commandOverrides,
    });
    this.standaloneTasks.push(task);
    await task.start();
    await task.until(t => t.status === 'STOPPED', 60 * 60_000, 'the task stopping');
    return task;
  }

  /**
   * Runs the ECS task an EventBridge Scheduler schedule starts (its `EcsParameters`: task
   * definition, subnets, security groups), now rather than at its time, and waits for it to stop.
   */
  public async runScheduledTask(schedule: ResourceRef, idPrefix: string): Promise<Task> {
    const target = this.deployment.resolve(schedule.stack, schedule.resource.Properties.Target);
    const ecsParameters = target.EcsParameters;
    if (!ecsParameters) throw new Error(`${schedule.stack.id}/${schedule.logicalId}: the local ECS runtime runs only schedules whose target is ECS RunTask`);
    if (target.Input !== undefined) throw new Error(`${schedule.stack.id}/${schedule.logicalId}: the local ECS runtime cannot apply a schedule's Input to RunTask`);
    const td = this.deployment.findByRef(ecsParameters.TaskDefinitionArn, 'AWS::ECS::TaskDefinition');
    if (!td) throw new Error(`${schedule.stack.id}/${schedule.logicalId}: task definition ${ecsParameters.TaskDefinitionArn} is not in the assembly`);
    const network = ecsParameters.NetworkConfiguration.AwsvpcConfiguration;
    return this.runTask(td.stack, td.logicalId, { subnets: network.Subnets, securityGroups: network.SecurityGroups }, idPrefix);
  }

  /** The migration custom resource, run by the library's own Lambda handlers against this cluster. */
  private async runMigration(ref: ResourceRef): Promise<void> {
    const started = Date.now();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { makeHandlers } = require('../../assets/migration-runner/handlers');
    class RunTaskCommand { constructor(public readonly input: any) {} }
    class DescribeTasksCommand { constructor(public readonly input: any) {} }
    class DescribeStacksCommand { constructor(public readonly input: any) {} }
    const tasks = new Map<string, Task>();
    const ecsClient = {
      send: async (command: any) => {
        if (command instanceof RunTaskCommand) {
          const input = command.input;
          const td = this.deployment.findByRef(input.taskDefinition, 'AWS::ECS::TaskDefinition');
          if (!td) return { failures: [{ reason: `MISSING task definition ${input.taskDefinition}` }], tasks: [] };
          const task = new Task(this.taskEnvironment, {
            id: `migrate-${this.standaloneTasks.length + 1}`,
            stack: td.stack,
            taskDefinitionLogicalId: td.logicalId,
            clusterArn: input.cluster,
            subnetIds: input.networkConfiguration.awsvpcConfiguration.subnets,
            securityGroupIds: input.networkConfiguration.awsvpcConfiguration.securityGroups,
          });
          this.standaloneTasks.push(task);
          tasks.set(task.arn, task);
          await task.start();
          return { tasks: [{ taskArn: task.arn }], failures: [] };
        }
        if (command instanceof DescribeTasksCommand) {
          const t = tasks.get(command.input.tasks[0]);
          if (!t) return { tasks: [], failures: [{ arn: command.input.tasks[0], reason: 'MISSING' }] };
          return {
            tasks: [{
              taskArn: t.arn,
              lastStatus: t.status,
              stoppedReason: t.stoppedReason,
              containers: t.containers.map(c => ({ name: c.name, exitCode: c.exitCode, reason: c.reason })),
            }],
          };
        }
        throw new Error(`unexpected ECS call ${command.constructor.name}`);
      },
    };
    const cloudformation = { send: async () => ({ Stacks: [{ StackStatus: this.options.previous ? 'UPDATE_IN_PROGRESS' : 'CREATE_IN_PROGRESS' }] }) };
    const handlers = makeHandlers(ecsClient, cloudformation, { RunTaskCommand, DescribeTasksCommand, DescribeStacksCommand });
    const properties = this.deployment.resolve(ref.stack, ref.resource.Properties);
    const event = { RequestType: this.options.previous ? 'Update' : 'Create', ResourceProperties: properties, StackId: `arn:aws:cloudformation:${ref.stack.region}:${ref.stack.account}:stack/${ref.stack.stackName}/x` };
    log(`running the migration custom resource ${ref.stack.id}/${ref.logicalId}`);
    const created = await handlers.onEvent(event);
    for (;;) {
      await sleep(2000);
      const done = await handlers.isComplete({ ...event, ...created });
      if (done.IsComplete) break;
    }
    this.migrationSeconds = (Date.now() - started) / 1000;
    log(`migration succeeded in ${this.migrationSeconds.toFixed(0)} s`);
  }

  /** PostgreSQL, Valkey and the load balancers, each in a namespace with its security groups. */
  private async createManagedResources(): Promise<void> {
    const d = this.deployment;
    const subnetCidrs = (ids: string[]) => ids.map(id => {
      const s = d.findByRef(id, 'AWS::EC2::Subnet');
      if (!s) throw new Error(`subnet ${id} is not in the assembly`);
      return d.attribute(s.stack, s.logicalId, 'CidrBlock');
    });
    const subnetGroup = (type: string, name: any) => {
      const g = d.findByRef(name, type);
      if (!g) throw new Error(`subnet group ${name} is not in the assembly`);
      return d.resolve(g.stack, g.resource.Properties).SubnetIds;
    };
    for (const ref of d.resources('AWS::RDS::DBInstance')) {
      const p = d.resolve(ref.stack, ref.resource.Properties);
      if (!String(p.Engine).startsWith('postgres')) throw new Error(`${ref.logicalId}: the local ECS runtime runs PostgreSQL only, not ${p.Engine}`);
      const ip = this.network.allocate(subnetCidrs(subnetGroup('AWS::RDS::DBSubnetGroup', p.DBSubnetGroupName)));
      const endpoint = this.network.addEndpoint(`db${this.databases.length}`, ip, p.VPCSecurityGroups ?? []);
      const db = new PostgresInstance(ref.logicalId, path.join(this.options.stateDir, 'databases', `${ref.stack.id}-${ref.logicalId}`), endpoint,
        d.attribute(ref.stack, ref.logicalId, 'Endpoint.Address'), Number(d.attribute(ref.stack, ref.logicalId, 'Endpoint.Port')));
      await db.start(this.ca, { username: p.MasterUsername, password: p.MasterUserPassword, database: p.DBName });
      this.databases.push(db);
      log(`PostgreSQL for ${ref.logicalId} at ${db.hostname} (${ip}), TLS only`);
    }
    for (const ref of d.resources('AWS::ElastiCache::ReplicationGroup')) {
      const p = d.resolve(ref.stack, ref.resource.Properties);
      if (p.TransitEncryptionEnabled !== true && p.TransitEncryptionEnabled !== 'true') {
        throw new Error(`${ref.logicalId}: the local ECS runtime runs the broker with TLS only, as the library configures it`);
      }
      const ip = this.network.allocate(subnetCidrs(subnetGroup('AWS::ElastiCache::SubnetGroup', p.CacheSubnetGroupName)));
      const endpoint = this.network.addEndpoint(`broker${this.brokers.length}`, ip, p.SecurityGroupIds ?? []);
      const broker = new ValkeyInstance(ref.logicalId, path.join(this.runDir, 'brokers', ref.logicalId), endpoint,
        d.attribute(ref.stack, ref.logicalId, 'PrimaryEndPoint.Address'), Number(d.attribute(ref.stack, ref.logicalId, 'PrimaryEndPoint.Port')));
      await broker.start(this.ca, p.AuthToken);
      this.brokers.push(broker);
      log(`${ValkeyInstance.binary()} for ${ref.logicalId} at ${broker.hostname} (${ip}), TLS and AUTH`);
    }
    for (const ref of d.resources('AWS::S3::Bucket')) {
      this.moto.python("client('s3').create_bucket(Bucket=args['bucket'], **({} if args['region'] == 'us-east-1' else {'CreateBucketConfiguration': {'LocationConstraint': args['region']}}))",
        { bucket: d.ref(ref.stack, ref.logicalId), region: ref.stack.region }, ref.stack.region);
    }
    for (const ref of d.resources('AWS::ElasticLoadBalancingV2::LoadBalancer')) {
      const p = d.resolve(ref.stack, ref.resource.Properties);
      const arn = d.ref(ref.stack, ref.logicalId);
      const listeners: ListenerSpec[] = [];
      const groups = new Map<string, TargetGroupSpec>();
      for (const l of d.resources('AWS::ElasticLoadBalancingV2::Listener')) {
        const lp = d.resolve(l.stack, l.resource.Properties);
        if (lp.LoadBalancerArn !== arn) continue;
        const action = lp.DefaultActions?.[0] ?? {};
        if (action.Type === 'forward') {
          const tgArn = action.TargetGroupArn ?? action.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
          listeners.push({ port: Number(lp.Port), protocol: lp.Protocol, targetGroupArn: tgArn });
        } else if (action.Type === 'redirect' && action.RedirectConfig?.Protocol === 'HTTPS') {
          listeners.push({ port: Number(lp.Port), protocol: lp.Protocol, redirectToHttpsPort: Number(action.RedirectConfig.Port ?? 443) });
        } else {
          throw new Error(`${l.logicalId}: the local ECS runtime supports forward and HTTPS-redirect listener actions, not ${action.Type}`);
        }
      }
      for (const tg of d.resources('AWS::ElasticLoadBalancingV2::TargetGroup')) {
        const tgArn = d.ref(tg.stack, tg.logicalId);
        if (!listeners.some(l => l.targetGroupArn === tgArn)) continue;
        const tp = d.resolve(tg.stack, tg.resource.Properties);
        if (tp.TargetType !== 'ip') throw new Error(`${tg.logicalId}: the local ECS runtime supports ip targets (awsvpc), not ${tp.TargetType}`);
        const attr = (k: string) => (tp.TargetGroupAttributes ?? []).find((a: any) => a.Key === k)?.Value;
        const healthCheck: HealthCheckSpec = {
          path: tp.HealthCheckPath ?? '/',
          port: tp.HealthCheckPort && tp.HealthCheckPort !== 'traffic-port' ? Number(tp.HealthCheckPort) : undefined,
          intervalSeconds: Number(tp.HealthCheckIntervalSeconds ?? 30),
          timeoutSeconds: Number(tp.HealthCheckTimeoutSeconds ?? 5),
          healthyThreshold: Number(tp.HealthyThresholdCount ?? 5),
          unhealthyThreshold: Number(tp.UnhealthyThresholdCount ?? 2),
          matcher: tp.Matcher?.HttpCode ?? '200',
        };
        groups.set(tgArn, { arn: tgArn, name: tg.logicalId, port: Number(tp.Port), healthCheck, deregistrationDelaySeconds: Number(attr('deregistration_delay.timeout_seconds') ?? 300) });
      }
      const ip = this.network.allocate(subnetCidrs(p.Subnets));
      const endpoint = this.network.addEndpoint(`lb${this.loadBalancers.length}`, ip, p.SecurityGroups ?? []);
      const lb = new LoadBalancer(ref.logicalId, path.join(this.runDir, 'lb', ref.logicalId), endpoint, d.attribute(ref.stack, ref.logicalId, 'DNSName'), listeners, [...groups.values()]);
      const baseUrl = this.environmentValue('AIRFLOW__API__BASE_URL');
      await lb.start(this.ca, baseUrl ? [new URL(baseUrl).hostname] : []);
      this.loadBalancers.push(lb);
    }
  }

  /** /etc/hosts of a task: itself, the database, broker and load balancer names, and its Service Connect names. */
  private hostsFile(task: Task): string {
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
    if (task.endpoint || task.hostname) {
      const ip = task.endpoint?.ip ?? task.hostname.replace(/^ip-/, '').replace(/\..*$/, '').replace(/-/g, '.');
      lines.push(`${ip} ${task.hostname} ${task.hostname.split('.')[0]}`);
    }
    for (const db of this.databases) lines.push(`${db.endpoint.ip} ${db.hostname}`);
    for (const b of this.brokers) lines.push(`${b.endpoint.ip} ${b.hostname}`);
    for (const lb of this.loadBalancers) lines.push(`${lb.endpoint.ip} ${lb.dnsName}`);
    const clientOf = this.services.find(s => s.tasks.includes(task))?.namespace;
    if (clientOf) {
      for (const s of this.services) {
        for (const server of s.serviceConnectServers.filter(x => x.namespace === clientOf)) {
          const target = s.running.find(t => t.status === 'RUNNING' && t.health === 'HEALTHY') ?? s.running.find(t => t.status === 'RUNNING');
          if (target?.endpoint) lines.push(`${target.endpoint.ip} ${server.dnsName}`);
        }
      }
    }
    return lines.join('\n') + '\n';
  }

  private refreshServiceConnect(): void {
    if (!this.services.length) return;
    const state = this.services.map(s => s.running.filter(t => t.status === 'RUNNING').map(t => `${t.id}:${t.health}`).join(',')).join(';');
    if (state === this.serviceConnectState) return;
    this.serviceConnectState = state;
    for (const s of this.services) for (const t of s.running) t.refreshHosts();
  }

  private createScalingRules(): void {
    const d = this.deployment;
    for (const alarmRef of d.resources('AWS::CloudWatch::Alarm')) {
      const alarm = d.resolve(alarmRef.stack, alarmRef.resource.Properties);
      for (const action of alarm.AlarmActions ?? []) {
        const policyRef = d.findByRef(action, 'AWS::ApplicationAutoScaling::ScalingPolicy');
        if (!policyRef) continue;
        const policy = d.resolve(policyRef.stack, policyRef.resource.Properties);
        const targetRef = d.findByRef(policy.ScalingTargetId, 'AWS::ApplicationAutoScaling::ScalableTarget');
        if (!targetRef) continue;
        const target = d.resolve(targetRef.stack, targetRef.resource.Properties);
        const serviceName = String(target.ResourceId).split('/').pop();
        const service = this.services.find(s => s.name === serviceName);
        if (!service) continue;
        const min = Number(target.MinCapacity);
        const max = Number(target.MaxCapacity);
        this.scaling.push({ service, min, max, alarm, policy, region: alarmRef.stack.region });
      }
    }
  }

  /** The alarm's metric from CloudWatch (moto); in ALARM, the step policy sets the service's desired count. */
  private async evaluateScaling(): Promise<void> {
    if (this.scalingSuspended) return;
    for (const rule of this.scaling) {
      const a = rule.alarm;
      let value: number | undefined;
      try {
        value = this.moto.python([
          'import datetime',
          'now = datetime.datetime.now(datetime.timezone.utc)',
          "r = client('cloudwatch').get_metric_statistics(Namespace=args['ns'], MetricName=args['name'], Dimensions=args['dims'], StartTime=now - datetime.timedelta(seconds=180), EndTime=now, Period=60, Statistics=[args['stat']])",
          "points = sorted(r['Datapoints'], key=lambda p: p['Timestamp'])",
          "print(json.dumps(points[-1][args['stat']] if points else None))",
        ].join('\n'), { ns: a.Namespace, name: a.MetricName, dims: (a.Dimensions ?? []).map((x: any) => ({ Name: x.Name, Value: String(x.Value) })), stat: a.Statistic ?? 'Maximum' }, rule.region) ?? undefined;
      } catch (e) {
        log(`scaling: could not read ${a.MetricName}: ${(e as Error).message.split('\n').pop()}`);
        continue;
      }
      if (value === undefined || value === null) continue;
      const threshold = Number(a.Threshold);
      const op = a.ComparisonOperator;
      const inAlarm = op === 'GreaterThanOrEqualToThreshold' ? value >= threshold : op === 'GreaterThanThreshold' ? value > threshold
        : op === 'LessThanThreshold' ? value < threshold : value <= threshold;
      if (!inAlarm) continue;
      const step = rule.policy.StepScalingPolicyConfiguration;
      const diff = value - threshold;
      const adj = (step.StepAdjustments ?? []).find((s: any) =>
        (s.MetricIntervalLowerBound === undefined || diff >= Number(s.MetricIntervalLowerBound))
        && (s.MetricIntervalUpperBound === undefined || diff < Number(s.MetricIntervalUpperBound)));
      if (!adj) continue;
      const current = rule.service.desiredCount;
      let desired = step.AdjustmentType === 'ExactCapacity' ? Number(adj.ScalingAdjustment)
        : step.AdjustmentType === 'ChangeInCapacity' ? current + Number(adj.ScalingAdjustment) : Math.round(current * (1 + Number(adj.ScalingAdjustment) / 100));
      desired = Math.max(rule.min, Math.min(rule.max, desired));
      if (desired !== current) {
        log(`scaling: ${a.MetricName} = ${value} -> ${rule.service.shortName} desired count ${current} -> ${desired}`);
        rule.service.desiredCount = desired;
      }
    }
  }

  /** Stops every task and service; keeps the databases' data in the state directory. */
  public async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    const tasks = [...this.services.flatMap(s => s.tasks), ...this.standaloneTasks].filter(t => t.status !== 'STOPPED');
    await Promise.all(tasks.map(t => t.stop('cluster stopped')));
    for (const lb of this.loadBalancers) lb.stop();
    for (const b of this.brokers) b.stop();
    for (const db of this.databases) db.stop();
    this.moto?.stop();
    this.agent?.stop();
    this.network?.destroy();
    spawnSync('umount', ['-l', this.layersDir]);
  }
}
