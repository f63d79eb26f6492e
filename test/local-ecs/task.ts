/**
 * One ECS task on Fargate, as the ECS agent runs it: its own network namespace and address, the
 * task definition's containers as processes (exact command, entrypoint, environment, user and
 * working directory), ECS secrets resolved before any container starts, `dependsOn` (START,
 * COMPLETE, SUCCESS, HEALTHY), essential containers, health checks run in the container under
 * /bin/sh as Docker runs them (interval, timeout, retries, start period), and stops with SIGTERM,
 * then SIGKILL after the container's stop timeout, in reverse dependency order.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { EcsAgent } from './agent';
import { Deployment, parseSecretValueFrom, StackArtifact } from './assembly';
import { ImageConfig, Images } from './images';
import { log } from './log';
import { AGENT_IP, Endpoint, Network } from './network';

export type ContainerStatus = 'PENDING' | 'RUNNING' | 'STOPPED';
export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY';
export type TaskStatus = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

export interface ContainerHealthCheck {
  readonly Command: string[];
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly Retries?: number;
  readonly StartPeriod?: number;
}

export interface ContainerDefinition {
  readonly Name: string;
  readonly Image: string;
  readonly Essential?: boolean;
  readonly EntryPoint?: string[];
  readonly Command?: string[];
  readonly Environment?: { Name: string; Value: string }[];
  readonly Secrets?: { Name: string; ValueFrom: string }[];
  readonly User?: string;
  readonly WorkingDirectory?: string;
  readonly DependsOn?: { ContainerName: string; Condition: string }[];
  readonly HealthCheck?: ContainerHealthCheck;
  readonly StopTimeout?: number;
  readonly MountPoints?: { SourceVolume: string; ContainerPath: string; ReadOnly?: boolean }[];
  readonly PortMappings?: { ContainerPort: number; Name?: string }[];
  readonly RestartPolicy?: { Enabled?: boolean; IgnoredExitCodes?: number[]; RestartAttemptPeriod?: number };
  readonly [key: string]: any;
}

/** What the cluster provides to its tasks. */
export interface TaskEnvironment {
  readonly deployment: Deployment;
  readonly network: Network;
  readonly images: Images;
  readonly agent: EcsAgent;
  /** Per-run directory on tmpfs, for the containers' writable layers. */
  readonly layersDir: string;
  /** Per-run directory on disk, for logs. */
  readonly logsDir: string;
  /** The AWS API endpoint the containers use (moto). */
  readonly awsEndpointUrl: string;
  /** /etc/hosts of a task: the names it resolves. */
  hostsFile(task: Task): string;
  /** Called when a task's state changes. */
  onChange(task: Task): void;
}

export interface TaskLaunch {
  readonly id: string;
  readonly stack: StackArtifact;
  readonly taskDefinitionLogicalId: string;
  readonly clusterArn: string;
  readonly subnetIds: string[];
  readonly securityGroupIds: string[];
  readonly serviceName?: string;
  /** The deployment that started the task (`ecs-svc/<n>`), as ECS sets a service task's `startedBy`. */
  readonly startedBy?: string;
  /** Container command overrides, as `RunTask` overrides. */
  readonly commandOverrides?: Record<string, string[]>;
}

const LAUNCHER = path.join(__dirname, 'launcher.py');
const CGROUP_ROOT = '/sys/fs/cgroup';
const CFS_PERIOD_US = 100_000;

export class Container {
  public status: ContainerStatus = 'PENDING';
  public health: HealthStatus = 'UNKNOWN';
  public exitCode?: number;
  public reason?: string;
  public startedAt?: number;
  public stoppedAt?: number;
  public pid?: number;
  public readonly output: string[] = [];
  public process?: ChildProcess;
  public image?: ImageConfig;
  public env: Record<string, string> = {};
  public uid = 0;
  public gid = 0;
  public healthChecks = 0;
  /** Restarts by its restart policy. */
  public restarts = 0;
  /** When the container first became HEALTHY. */
  public healthyAt?: number;
  private healthTimer?: NodeJS.Timeout;
  private failingStreak = 0;
  private everHealthy = false;
  private exited?: Promise<void>;

  constructor(public readonly task: Task, public readonly def: ContainerDefinition) {}

  public get name(): string {
    return this.def.Name;
  }

  public get essential(): boolean {
    return this.def.Essential !== false;
  }

  public get logFile(): string {
    return path.join(this.task.logDir, `${this.name}.log`);
  }

  /** Starts the container again after it exited (restart policy). */
  public async restart(): Promise<void> {
    this.pid = undefined;
    this.exitCode = undefined;
    this.reason = undefined;
    this.stoppedAt = undefined;
    this.health = 'UNKNOWN';
    this.failingStreak = 0;
    await this.start();
  }

  /** Starts the process; resolves once it runs. */
  public async start(): Promise<void> {
    const task = this.task;
    const image = this.image!;
    const dir = path.join(task.layerDir, this.name);
    for (const d of ['root', 'upper', 'work']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const entry = this.def.EntryPoint ?? image.entrypoint;
    // Docker's rule: an entrypoint override drops the image's command
    const command = task.launch.commandOverrides?.[this.name] ?? this.def.Command ?? (this.def.EntryPoint ? [] : image.cmd);
    const cgroups = task.cgroupDirs().map(g => {
      const c = path.join(g, this.name);
      fs.mkdirSync(c, { recursive: true });
      return c;
    });
    const spec = {
      root: path.join(dir, 'root'),
      lowers: [image.layer, '/'],
      upper: path.join(dir, 'upper'),
      work: path.join(dir, 'work'),
      hostname: task.hostname,
      uid: this.uid,
      gid: this.gid,
      cwd: this.def.WorkingDirectory ?? image.workdir,
      env: this.env,
      argv: [...entry, ...command],
      tmpfs: ['/tmp', '/run', '/var/tmp'],
      binds: [
        { source: task.hostsPath, target: '/etc/hosts', readOnly: true },
        ...(this.def.MountPoints ?? []).map(m => ({
          source: task.volumeDir(m.SourceVolume), target: m.ContainerPath, readOnly: m.ReadOnly === true,
        })),
      ],
    };
    const specFile = path.join(dir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec), { mode: 0o600 });
    const out = fs.openSync(this.logFile, 'a');
    // join the task's cgroups first (inside the namespace /sys is remounted), then enter the namespaces
    const child = spawn('/bin/sh', ['-c', 'for g in $LOCAL_ECS_CGROUPS; do echo $$ > "$g/cgroup.procs"; done; exec "$@"', 'sh',
      'ip', 'netns', 'exec', task.endpoint!.namespace, '/usr/bin/python3', LAUNCHER, specFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { LOCAL_ECS_CGROUPS: cgroups.join(' '), PATH: process.env.PATH } });
    this.process = child;
    const collect = (d: Buffer) => {
      fs.writeSync(out, d);
      for (const line of d.toString().split('\n')) if (line) this.output.push(line);
      if (this.output.length > 5000) this.output.splice(0, this.output.length - 5000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise(resolve => {
      child.on('close', (code, signal) => {
        fs.closeSync(out);
        this.status = 'STOPPED';
        this.stoppedAt = Date.now();
        this.exitCode = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : undefined);
        if (this.healthTimer) clearTimeout(this.healthTimer);
        task.containerStopped(this);
        resolve();
      });
    });
    this.status = 'RUNNING';
    this.startedAt = Date.now();
    // the container's PID 1, a child of the launcher
    for (let i = 0; i < 100 && this.pid === undefined && this.status === 'RUNNING'; i++) {
      const children = readChildren(child.pid!);
      if (children.length > 0) this.pid = children[0];
      else await sleep(20);
    }
    if (this.def.HealthCheck) this.scheduleHealthCheck(this.def.HealthCheck.Interval ?? 30);
  }

  /** Docker's health check: the first probe one interval after start, then one interval after each probe. */
  private scheduleHealthCheck(seconds: number): void {
    this.healthTimer = setTimeout(() => void this.probe(), seconds * 1000);
  }

  private async probe(): Promise<void> {
    const hc = this.def.HealthCheck!;
    if (this.status !== 'RUNNING') return;
    const timeout = hc.Timeout ?? 5;
    const [kind, ...rest] = hc.Command;
    const argv = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : kind === 'CMD' ? rest : hc.Command;
    const r = await this.exec(argv, timeout);
    this.healthChecks++;
    const inStartPeriod = Date.now() - this.startedAt! < (hc.StartPeriod ?? 0) * 1000;
    const before = this.health;
    if (r.code === 0) {
      this.failingStreak = 0;
      this.everHealthy = true;
      this.health = 'HEALTHY';
      this.healthyAt = this.healthyAt ?? Date.now();
    } else if (!(inStartPeriod && !this.everHealthy)) {
      this.failingStreak++;
      if (this.failingStreak >= (hc.Retries ?? 3)) this.health = 'UNHEALTHY';
    }
    if (before !== this.health) {
      log(`${this.task.id}/${this.name}: health ${before} -> ${this.health}${r.code !== 0 ? ` (check exited ${r.code}: ${r.output.trim().split('\n').slice(-2).join(' | ').slice(0, 300)})` : ''}`);
      this.task.changed();
    }
    this.scheduleHealthCheck(hc.Interval ?? 30);
  }

  /** Runs a command inside the running container, as `docker exec` does (its user, environment and working directory). */
  public exec(argv: string[], timeoutSeconds: number): Promise<{ code: number; output: string }> {
    if (this.pid === undefined) return Promise.resolve({ code: -1, output: 'container not running' });
    const envArgs = Object.entries(this.env).map(([k, v]) => `${k}=${v}`);
    return new Promise(resolve => {
      const p = spawn('nsenter', ['--target', `${this.pid}`, '--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd', '--',
        '/usr/bin/setpriv', `--reuid=${this.uid}`, `--regid=${this.gid}`, '--clear-groups', '/usr/bin/env', '-i', ...envArgs, ...argv],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      p.stdout!.on('data', d => { output += d; });
      p.stderr!.on('data', d => { output += d; });
      const timer = setTimeout(() => {
        try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
      }, timeoutSeconds * 1000);
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: signal ? -1 : code ?? -1, output });
      });
    });
  }

  /** SIGTERM, then SIGKILL after the stop timeout (Fargate's default is 30 s). */
  public async stop(): Promise<void> {
    if (this.status !== 'RUNNING' || this.pid === undefined) {
      if (this.status === 'PENDING') this.status = 'STOPPED';
      await this.exited;
      return;
    }
    const timeout = (this.def.StopTimeout ?? 30) * 1000;
    sendSignal(this.pid, 'SIGTERM');
    const killed = await Promise.race([this.exited!.then(() => false), sleep(timeout).then(() => true)]);
    if (killed) {
      this.reason = `killed after the stop timeout (${timeout / 1000} s)`;
      sendSignal(this.pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** Waits until the process has exited. */
  public async wait(): Promise<void> {
    await this.exited;
  }
}

export class Task {
  public status: TaskStatus = 'PROVISIONING';
  public readonly containers: Container[];
  public readonly arn: string;
  public readonly family: string;
  public readonly taskDefinition: any;
  public readonly taskRoleArn?: string;
  public endpoint?: Endpoint;
  public hostname = '';
  public stoppedReason?: string;
  public startedAt?: number;
  public runningAt?: number;
  public stoppedAt?: number;
  public readonly layerDir: string;
  public readonly logDir: string;
  public readonly hostsPath: string;
  private tickTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private readonly waiters: (() => void)[] = [];
  private ticking = false;

  constructor(public readonly env: TaskEnvironment, public readonly launch: TaskLaunch) {
    const { deployment } = env;
    const td = deployment.resource(launch.stack, launch.taskDefinitionLogicalId);
    this.taskDefinition = deployment.resolve(launch.stack, td.resource.Properties);
    this.arn = `arn:aws:ecs:${launch.stack.region}:${launch.stack.account}:task/${launch.clusterArn.split('/').pop()}/${launch.id}`;
    this.family = this.taskDefinition.Family ?? launch.taskDefinitionLogicalId;
    this.taskRoleArn = this.taskDefinition.TaskRoleArn;
    checkSupported(`${launch.stack.id}/${launch.taskDefinitionLogicalId}`, this.taskDefinition);
    this.containers = (this.taskDefinition.ContainerDefinitions as ContainerDefinition[]).map(c => new Container(this, c));
    this.layerDir = path.join(env.layersDir, launch.id);
    this.logDir = path.join(env.logsDir, launch.id);
    this.hostsPath = path.join(this.logDir, 'hosts');
  }

  public get id(): string {
    return this.launch.id;
  }

  public container(name: string): Container {
    const c = this.containers.find(x => x.name === name);
    if (!c) throw new Error(`task ${this.id} has no container ${name}`);
    return c;
  }

  /** The essential container with a port or the first essential one: the component. */
  public get main(): Container {
    const component = this.containers.find(c => c.essential && c.image?.airflowVersion !== undefined && !c.def.EntryPoint);
    return component ?? this.containers.find(c => c.essential)!;
  }

  /** Task health as ECS computes it from the essential containers that have a health check. */
  public get health(): HealthStatus {
    const checked = this.containers.filter(c => c.essential && c.def.HealthCheck);
    if (checked.some(c => c.health === 'UNHEALTHY')) return 'UNHEALTHY';
    if (checked.some(c => c.health === 'UNKNOWN')) return 'UNKNOWN';
    return 'HEALTHY';
  }

  public volumeDir(name: string): string {
    const volume = (this.taskDefinition.Volumes ?? []).find((v: any) => v.Name === name);
    if (!volume) throw new Error(`task ${this.id}: mount of volume '${name}', which the task definition does not declare`);
    return path.join(this.layerDir, 'volumes', name);
  }

  public cgroupDirs(): string[] {
    return ['memory', 'cpuacct', 'cpu'].map(c => path.join(CGROUP_ROOT, c, 'local-ecs', this.id));
  }

  public async start(): Promise<void> {
    const { deployment, network, agent, images } = this.env;
    this.startedAt = Date.now();
    fs.mkdirSync(this.logDir, { recursive: true });
    fs.mkdirSync(this.layerDir, { recursive: true });
    // awsvpc: an address in one of the task's subnets, its own namespace, its security groups
    const cidrs = this.launch.subnetIds.map(id => {
      const subnet = deployment.findByRef(id, 'AWS::EC2::Subnet');
      if (!subnet) throw new Error(`task ${this.id}: subnet ${id} is not in the assembly (imported subnets are not supported by the local ECS runtime)`);
      return deployment.attribute(subnet.stack, subnet.logicalId, 'CidrBlock');
    });
    const ip = network.allocate(cidrs);
    this.hostname = `ip-${ip.replace(/\./g, '-')}.ec2.internal`;
    fs.writeFileSync(this.hostsPath, this.env.hostsFile(this), { mode: 0o644 });
    this.endpoint = network.addEndpoint(this.id, ip, this.launch.securityGroupIds);
    // Fargate task storage: bind-mount volumes start empty, owned by root, mode 0755
    for (const v of this.taskDefinition.Volumes ?? []) {
      const dir = path.join(this.layerDir, 'volumes', v.Name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.chmodSync(dir, 0o755);
    }
    // the task's size is its cgroups' limits: memory (Fargate stops containers that exceed it) and
    // CPU, a CFS quota of the task's vCPUs (1024 units = one CPU's time per period), as on Fargate
    const [memory, cpuacct, cpu] = this.cgroupDirs();
    for (const g of [memory, cpuacct, cpu]) fs.mkdirSync(g, { recursive: true });
    const mib = Number(this.taskDefinition.Memory);
    if (mib > 0) fs.writeFileSync(path.join(memory, 'memory.limit_in_bytes'), `${mib * 1024 * 1024}`);
    const units = Number(this.taskDefinition.Cpu);
    if (units > 0) {
      fs.writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), `${CFS_PERIOD_US}`);
      fs.writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), `${Math.round(units / 1024 * CFS_PERIOD_US)}`);
    }
    // secrets and environment, resolved before any container starts (a missing secret stops the task)
    try {
      for (const c of this.containers) {
        c.image = images.resolve(c.def.Image);
        const user = c.def.User ?? c.image.user;
        [c.uid, c.gid] = parseUser(user, c.image);
        const secrets: Record<string, string> = {};
        for (const s of c.def.Secrets ?? []) {
          const { secretId, jsonKey } = parseSecretValueFrom(s.ValueFrom);
          secrets[s.Name] = deployment.secretValue(secretId, jsonKey);
        }
        const injected = agent.register({
          arn: this.arn,
          clusterArn: this.launch.clusterArn,
          family: this.family,
          ip,
          roleArn: this.taskRoleArn,
          serviceName: this.launch.serviceName,
          containers: () => this.containers.map(x => ({
            name: x.name, status: x.status, exitCode: x.exitCode, health: x.def.HealthCheck ? x.health : undefined,
          })),
        }, c.name);
        c.env = {
          ...c.image.env,
          HOSTNAME: this.hostname,
          HOME: homeOf(c.uid),
          AWS_REGION: this.launch.stack.region,
          AWS_DEFAULT_REGION: this.launch.stack.region,
          AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
          // the AWS stand-in (moto); on ECS the SDKs reach AWS's own endpoints
          AWS_ENDPOINT_URL: this.env.awsEndpointUrl,
          // the runtime's own ECS API (DescribeTasks, DescribeServices), served by the agent
          AWS_ENDPOINT_URL_ECS: `http://${AGENT_IP}`,
          ...injected,
          ...Object.fromEntries((c.def.Environment ?? []).map(e => [e.Name, String(e.Value)])),
          ...secrets,
        };
      }
    } catch (e) {
      this.status = 'STOPPED';
      this.stoppedReason = `ResourceInitializationError: ${(e as Error).message}`;
      this.stoppedAt = Date.now();
      this.cleanup();
      this.changed();
      throw e;
    }
    this.status = 'PENDING';
    this.changed();
    this.tickTimer = setInterval(() => void this.tick(), 250);
    await this.tick();
  }

  /** Starts every container whose dependencies are met; stops the task when one can never be. */
  private async tick(): Promise<void> {
    if (this.ticking || this.status === 'STOPPING' || this.status === 'STOPPED') return;
    this.ticking = true;
    try {
      for (const c of this.containers.filter(x => x.status === 'PENDING')) {
        let ready = true;
        for (const d of c.def.DependsOn ?? []) {
          const dep = this.container(d.ContainerName);
          const condition = d.Condition;
          const met = condition === 'START' ? dep.status !== 'PENDING'
            : condition === 'COMPLETE' ? dep.status === 'STOPPED'
              : condition === 'SUCCESS' ? dep.status === 'STOPPED' && dep.exitCode === 0
                : condition === 'HEALTHY' ? dep.health === 'HEALTHY' : false;
          const never = (condition === 'SUCCESS' && dep.status === 'STOPPED' && dep.exitCode !== 0)
            || (condition === 'HEALTHY' && dep.status === 'STOPPED')
            || (dep.status === 'STOPPED' && dep.startedAt === undefined);
          if (never) {
            c.status = 'STOPPED';
            c.reason = `dependency ${dep.name} (${condition}) was not met: it exited with code ${dep.exitCode}`;
            void this.stop(`Essential container in task exited${c.essential ? '' : ''}: ${c.name} cannot start because ${c.reason}`);
            return;
          }
          if (!met) ready = false;
        }
        if (ready) await c.start();
      }
      if (this.status === 'PENDING' && this.containers.filter(c => c.essential).every(c => c.status === 'RUNNING')) {
        this.status = 'RUNNING';
        this.runningAt = Date.now();
        this.changed();
      }
    } finally {
      this.ticking = false;
    }
  }

  /** A container exited: an essential one stops the task. */
  public containerStopped(c: Container): void {
    log(`${this.id}/${c.name}: exited with code ${c.exitCode}${c.reason ? ` (${c.reason})` : ''}`);
    // why, in the run's log: a failed container's last words (a scenario may report only its own symptom)
    if (c.exitCode !== undefined && c.exitCode !== 0 && c.exitCode !== 137 && c.exitCode !== 143) {
      for (const line of c.output.slice(-12)) log(`  ${this.id}/${c.name} | ${line.slice(0, 300)}`);
    }
    if (this.restartInPlace(c)) {
      this.changed();
      return;
    }
    if (c.essential && this.status !== 'STOPPING' && this.status !== 'STOPPED') {
      void this.stop(`Essential container in task exited: ${c.name} (exit code ${c.exitCode})`);
    }
    this.changed();
  }

  /**
   * ECS's container restart policy: a container that exits while its task runs is restarted in
   * place, unless its exit code is ignored or it ran for less than the restart attempt period
   * (default 300 s); at most once per period.
   */
  private restartInPlace(c: Container): boolean {
    const policy = c.def.RestartPolicy;
    if (!policy?.Enabled || this.status !== 'RUNNING' || c.exitCode === undefined) return false;
    if ((policy.IgnoredExitCodes ?? []).includes(c.exitCode)) return false;
    const period = policy.RestartAttemptPeriod ?? 300;
    const ran = ((c.stoppedAt ?? Date.now()) - (c.startedAt ?? 0)) / 1000;
    if (ran < period) {
      log(`${this.id}/${c.name}: not restarted: it ran ${ran.toFixed(0)} s, less than its restart attempt period (${period} s)`);
      return false;
    }
    c.restarts++;
    log(`${this.id}/${c.name}: restarting in place (restart policy; restart ${c.restarts})`);
    void c.restart().catch(e => log(`${this.id}/${c.name}: restart failed: ${(e as Error).message}`));
    return true;
  }

  /** Stops every container, dependents first, each with SIGTERM then SIGKILL after its stop timeout. */
  public stop(reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stoppedReason = this.stoppedReason ?? reason;
    this.status = 'STOPPING';
    this.changed();
    log(`${this.id}: stopping: ${reason}`);
    this.stopping = (async () => {
      if (this.tickTimer) clearInterval(this.tickTimer);
      const remaining = new Set(this.containers);
      while (remaining.size > 0) {
        // containers no remaining container depends on
        const dependedOn = (c: Container) => [...remaining].some(o => o !== c && (o.def.DependsOn ?? []).some(d => d.ContainerName === c.name));
        const leaves = [...remaining].filter(c => !dependedOn(c));
        const batch = leaves.length > 0 ? leaves : [...remaining];
        await Promise.all(batch.map(c => c.stop()));
        for (const c of batch) remaining.delete(c);
      }
      this.cleanup();
      this.status = 'STOPPED';
      this.stoppedAt = Date.now();
      this.changed();
    })();
    return this.stopping;
  }

  private cleanup(): void {
    this.env.agent.unregisterTask(this.arn);
    this.env.network.removeEndpoint(this.id);
    for (const g of this.cgroupDirs()) {
      for (const c of this.containers) spawnSync('rmdir', [path.join(g, c.name)]);
      spawnSync('rmdir', [g]);
    }
    fs.rmSync(this.layerDir, { recursive: true, force: true });
  }

  /** Writes the task's /etc/hosts again (Service Connect endpoints moved). */
  public refreshHosts(): void {
    if (this.status === 'STOPPED') return;
    fs.writeFileSync(this.hostsPath, this.env.hostsFile(this));
  }

  public changed(): void {
    this.env.onChange(this);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when the predicate holds (checked on every change and every second). */
  public async until(predicate: (t: Task) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline) throw new Error(`task ${this.id}: ${what} did not happen within ${Math.round(timeoutMs / 1000)} s (status ${this.status}${this.stoppedReason ? `, ${this.stoppedReason}` : ''})`);
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, 1000);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Memory (cgroup usage less page cache) and CPU seconds of the task now. */
  public usage(): { memoryMiB: number; cpuSeconds: number } | undefined {
    const [memory, cpu] = this.cgroupDirs();
    try {
      const usage = Number(fs.readFileSync(path.join(memory, 'memory.usage_in_bytes'), 'utf8'));
      const stat = fs.readFileSync(path.join(memory, 'memory.stat'), 'utf8');
      const cache = Number(/^total_cache (\d+)$/m.exec(stat)?.[1] ?? /^cache (\d+)$/m.exec(stat)?.[1] ?? 0);
      const cpuNs = Number(fs.readFileSync(path.join(cpu, 'cpuacct.usage'), 'utf8'));
      return { memoryMiB: Math.max(0, usage - cache) / 1024 / 1024, cpuSeconds: cpuNs / 1e9 };
    } catch {
      return undefined;
    }
  }

  /** The last lines of every container's output, for failure reports. */
  public tail(lines = 30): string {
    return this.containers.filter(c => c.output.length > 0)
      .map(c => `--- ${this.id}/${c.name} (exit ${c.exitCode ?? '-'}) ---\n${c.output.slice(-lines).join('\n')}`).join('\n');
  }
}

/** Features of a task definition the runtime cannot reproduce: a clear error, never a silent skip. */
function checkSupported(where: string, td: any): void {
  const problems: string[] = [];
  if (td.NetworkMode !== undefined && td.NetworkMode !== 'awsvpc') problems.push(`network mode ${td.NetworkMode} (only awsvpc, as on Fargate)`);
  if (td.RequiresCompatibilities && !td.RequiresCompatibilities.includes('FARGATE')) problems.push(`launch type ${td.RequiresCompatibilities.join('/')} (only FARGATE)`);
  for (const v of td.Volumes ?? []) {
    if (v.EFSVolumeConfiguration) problems.push(`EFS volume '${v.Name}'`);
    if (v.DockerVolumeConfiguration) problems.push(`Docker volume '${v.Name}' (EC2 only)`);
    if (v.FSxWindowsFileServerVolumeConfiguration) problems.push(`FSx volume '${v.Name}'`);
    if (v.ConfiguredAtLaunch) problems.push(`volume '${v.Name}' configured at launch (EBS)`);
  }
  if (td.ProxyConfiguration) problems.push('App Mesh proxy configuration');
  for (const c of td.ContainerDefinitions ?? []) {
    if (c.FirelensConfiguration) problems.push(`container ${c.Name}: FireLens log router`);
    if (c.EnvironmentFiles) problems.push(`container ${c.Name}: environment files from S3`);
    if (c.VolumesFrom) problems.push(`container ${c.Name}: volumesFrom`);
    if (c.LinuxParameters?.Capabilities?.Add?.length) problems.push(`container ${c.Name}: added Linux capabilities`);
  }
  if (problems.length > 0) {
    throw new Error(`${where}: the local ECS runtime cannot run ${problems.join('; ')}`);
  }
}

function parseUser(user: string, image: ImageConfig): [number, number] {
  const [u, g] = user.split(':');
  if (!/^\d+$/.test(u) || (g !== undefined && !/^\d+$/.test(g))) {
    throw new Error(`container user '${user}': the local ECS runtime needs numeric uid[:gid] (the image ${image.name} has no user database here)`);
  }
  const uid = Number(u);
  // without a group, Docker takes the user's primary group from the image's /etc/passwd
  if (g === undefined) {
    const passwd = path.join(image.layer, 'etc/passwd');
    const line = (fs.existsSync(passwd) ? fs.readFileSync(passwd, 'utf8') : fs.readFileSync('/etc/passwd', 'utf8')).split('\n').find(l => l.split(':')[2] === u);
    return [uid, line ? Number(line.split(':')[3]) : 0];
  }
  return [uid, Number(g)];
}

function homeOf(uid: number): string {
  if (uid === 0) return '/root';
  if (uid === 50000) return '/home/airflow';
  return '/';
}

function readChildren(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function sendSignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms));
}

const SIGNALS: Record<string, number> = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2, SIGHUP: 1, SIGQUIT: 3, SIGABRT: 6, SIGSEGV: 11 };
