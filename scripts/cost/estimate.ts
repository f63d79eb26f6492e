// The monthly cost of a synthesized cloud assembly at AWS list prices (scripts/cost/prices.json):
// one line item per priced resource, idle (workers at their minimum) and at full scale (workers at
// their maximum), and the comparison with Amazon MWAA's smallest environment class. Everything is
// read from the templates; usage-based charges (data processed, logs, LCUs) are listed, not guessed.
import * as fs from 'fs';
import * as path from 'path';
import { AssemblySummary, ComponentSummary, stackTemplates, summarize } from '../summarize-assembly';

export interface Price { usd: number; unit: string; source: string; seenAt: string; verified: boolean; note?: string }

export interface PriceList {
  region: string;
  readOn: string;
  hoursPerMonth: number;
  prices: Record<string, Price>;
}

/** What the templates cannot say. */
export interface CostAssumptions {
  /** Airflow pools (`default_pool` only, unless the DAGs add some): the airflow-metrics sidecar publishes 6 metrics per pool. */
  readonly airflowPools: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = { airflowPools: 1 };

/** Metrics the airflow-metrics sidecar publishes besides its per-pool ones (README, "Airflow's metrics in CloudWatch"). */
export const AIRFLOW_METRICS_FIXED = 26;
export const AIRFLOW_METRICS_PER_POOL = 6;
/** The queue-metrics publisher: QueuedTasks, RunningTasks, DesiredWorkers per worker pool, and HeartbeatAge per component. */
export const QUEUE_METRICS_PER_WORKER_POOL = 3;
export const HEARTBEAT_COMPONENTS = 3;

/**
 * Compressed size (GB, what ECR bills) of one architecture of the images `ImageMirror.ecr()` copies.
 * Assumed, not measured (Docker Hub and registry.k8s.io cannot be reached from the machines this
 * was written on): the official Airflow image is about 1.5 GiB unpacked; git-sync is one static
 * binary with git. Any other copied image is taken to be Airflow-sized (it is built on it).
 */
export const COPIED_IMAGE_GB = { airflow: 0.6, gitSync: 0.05 };

export interface CostLine {
  item: string;
  /** USD a month with workers at their minimum. */
  idle: number;
  /** USD a month with workers at their maximum. */
  full: number;
}

export interface CostEstimate {
  region: string;
  readOn: string;
  hoursPerMonth: number;
  lines: CostLine[];
  idle: number;
  full: number;
  mwaa: { environmentClass: string; hourly: number; monthly: number };
  /** Idle cost as a percentage of MWAA's. */
  idlePercentOfMwaa: number;
  /** Prices of what the estimate leaves out because it depends on use. */
  notCounted: string[];
}

export function loadPrices(file = path.join(__dirname, 'prices.json')): PriceList {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function price(prices: PriceList, key: string): number {
  const p = prices.prices[key];
  if (!p) throw new Error(`scripts/cost/prices.json has no price '${key}'; add it with its source`);
  return p.usd;
}

const GIB_PER_MIB = 1 / 1024;

/** USD an hour for one task of a component, Spot mix included. */
export function fargateHourly(c: Pick<ComponentSummary, 'cpu' | 'memoryMiB' | 'architecture' | 'spotPercent'>, prices: PriceList): number {
  const arch = c.architecture === 'ARM64' ? 'arm64' : 'x86_64';
  const onDemand = Number(c.cpu) / 1024 * price(prices, `fargate.${arch}.vcpuHour`)
    + Number(c.memoryMiB) * GIB_PER_MIB * price(prices, `fargate.${arch}.gbHour`);
  return onDemand * (1 - c.spotPercent / 100 * price(prices, 'fargate.spotDiscount'));
}

/** Tasks a component runs idle and at full scale. */
export function taskCounts(c: ComponentSummary): { idle: number; full: number } {
  if (c.minCapacity !== undefined && c.maxCapacity !== undefined) return { idle: c.minCapacity, full: c.maxCapacity };
  const n = Number(c.desiredCount);
  return { idle: n, full: n };
}

const money = (n: number) => `$${n.toFixed(2)}`;

export function estimateCost(assemblyDir: string, prices: PriceList = loadPrices(),
  assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS): CostEstimate {
  const summary: AssemblySummary = summarize(assemblyDir);
  const hours = prices.hoursPerMonth;
  const lines: CostLine[] = [];
  const both = (item: string, monthly: number) => lines.push({ item, idle: monthly, full: monthly });

  // Fargate services
  const pools = summary.components.filter(c => c.queues).length > 1;
  for (const c of summary.components) {
    const n = taskCounts(c);
    const perTask = fargateHourly(c, prices) * hours;
    const label = pools && c.queues ? `${c.component} (${c.queues.join(',')})` : c.component;
    const count = n.idle === n.full ? `${n.idle}` : `${n.idle}–${n.full}`;
    const spot = c.spotPercent > 0 ? `, ${c.spotPercent}% Spot` : '';
    lines.push({
      item: `${label}: ${count} × ${Number(c.cpu) / 1024} vCPU / ${Number(c.memoryMiB) / 1024} GiB ${c.architecture}${spot}`,
      idle: n.idle * perTask,
      full: n.full * perTask,
    });
  }

  const resources = stackTemplates(assemblyDir).flatMap(({ template }) => Object.values(template.Resources ?? {}));
  const ofType = (type: string) => resources.filter(r => r.Type === type);

  for (const db of ofType('AWS::RDS::DBInstance')) {
    const cls = String(db.Properties?.DBInstanceClass);
    const copies = db.Properties?.MultiAZ === true || db.Properties?.MultiAZ === 'true' ? 2 : 1;
    const gb = Number(db.Properties?.AllocatedStorage ?? 0);
    const storageType = String(db.Properties?.StorageType ?? 'gp2');
    if (storageType !== 'gp3') throw new Error(`no price for RDS storage type ${storageType}`);
    const az = copies === 2 ? ', Multi-AZ' : '';
    both(`database: ${cls}${az} (${db.Properties?.Engine}) + ${gb} GB ${storageType}`,
      copies * (price(prices, `rds.${db.Properties?.Engine}.${cls}.hour`) * hours + gb * price(prices, 'rds.gp3.gbMonth')));
  }

  for (const rg of ofType('AWS::ElastiCache::ReplicationGroup')) {
    const p = rg.Properties ?? {};
    const nodes = p.NumCacheClusters !== undefined ? Number(p.NumCacheClusters)
      : Number(p.NumNodeGroups ?? 1) * (1 + Number(p.ReplicasPerNodeGroup ?? 0));
    both(`broker: ${nodes} × ${p.CacheNodeType} (${p.Engine})`, nodes * price(prices, `elasticache.${p.Engine}.${p.CacheNodeType}.hour`) * hours);
  }

  const nat = ofType('AWS::EC2::NatGateway').length;
  if (nat > 0) both(`NAT gateways: ${nat}`, nat * price(prices, 'vpc.natGateway.hour') * hours);

  // EC2 instances (the default NAT instance) and their EBS volumes
  const instances = ofType('AWS::EC2::Instance');
  for (const type of [...new Set(instances.map(r => String(r.Properties?.InstanceType)))]) {
    const same = instances.filter(r => String(r.Properties?.InstanceType) === type);
    const gb = same.reduce((n, r) => n + (r.Properties?.BlockDeviceMappings ?? [])
      .reduce((m: number, b: any) => m + Number(b.Ebs?.VolumeSize ?? 0), 0), 0);
    both(`EC2 instances (NAT): ${same.length} × ${type} + ${gb} GB gp3`,
      same.length * price(prices, `ec2.${type}.hour`) * hours + gb * price(prices, 'ec2.ebs.gp3.gbMonth'));
  }

  // public IPv4: Elastic IPs (a NAT gateway's), instances' public addresses and an internet-facing
  // load balancer's (one per subnet)
  const albs = ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').filter(r => (r.Properties?.Type ?? 'application') === 'application');
  const albIps = albs.filter(r => r.Properties?.Scheme !== 'internal').reduce((n, r) => n + (r.Properties?.Subnets?.length ?? 2), 0);
  const instanceIps = instances.filter(r => (r.Properties?.NetworkInterfaces ?? []).some((i: any) => i.AssociatePublicIpAddress === true)).length;
  const ips = ofType('AWS::EC2::EIP').length + instanceIps + albIps;
  if (ips > 0) both(`public IPv4 addresses: ${ips}`, ips * price(prices, 'vpc.publicIpv4.hour') * hours);

  if (albs.length > 0) {
    const schemes = albs.map(r => r.Properties?.Scheme ?? 'internet-facing').join(', ');
    both(`load balancers: ${albs.length} ALB (${schemes}), hours`, albs.length * price(prices, 'elb.alb.hour') * hours);
  }

  // custom metrics and the PutMetricData calls of the sidecars that publish them
  const withAirflowMetrics = summary.components.filter(c => c.sidecars['airflow-metrics']);
  const publishers = summary.components.filter(c => c.sidecars['queue-metrics']);
  const workerPools = summary.components.filter(c => c.queues).length;
  const heartbeats = publishers.some(c => c.sidecars['queue-metrics'].CDK_AIRFLOW_HEARTBEATS !== undefined);
  const airflowMetrics = withAirflowMetrics.length > 0 ? AIRFLOW_METRICS_FIXED + AIRFLOW_METRICS_PER_POOL * assumptions.airflowPools : 0;
  const queueMetrics = publishers.length > 0 ? QUEUE_METRICS_PER_WORKER_POOL * workerPools + (heartbeats ? HEARTBEAT_COMPONENTS : 0) : 0;
  if (airflowMetrics + queueMetrics > 0) {
    both(`custom metrics: ${airflowMetrics + queueMetrics} (Airflow ${airflowMetrics}, queue and heartbeats ${queueMetrics})`,
      (airflowMetrics + queueMetrics) * price(prices, 'cloudwatch.metricMonth'));
    // calls a minute for each running task: one per period (PutMetricData takes up to 1,000 values);
    // the publisher makes a second call per round for the heartbeat ages
    const perMinute = (c: ComponentSummary) =>
      (c.sidecars['airflow-metrics'] ? 60 / Number(c.sidecars['airflow-metrics'].CDK_AIRFLOW_METRICS_PERIOD_SECONDS ?? 60) : 0)
      + (c.sidecars['queue-metrics'] ? 60 / Number(c.sidecars['queue-metrics'].CDK_AIRFLOW_SCALING_PERIOD_SECONDS ?? 30) * (heartbeats ? 2 : 1) : 0);
    const calls = (which: 'idle' | 'full') => summary.components.reduce((n, c) => n + taskCounts(c)[which] * perMinute(c), 0) * 60 * hours;
    const [idleCalls, fullCalls] = [calls('idle'), calls('full')];
    const per1000 = price(prices, 'cloudwatch.putMetricData.per1000');
    lines.push({
      item: `PutMetricData: ${Math.round(idleCalls / 1000)}k–${Math.round(fullCalls / 1000)}k calls`,
      idle: idleCalls / 1000 * per1000,
      full: fullCalls / 1000 * per1000,
    });
  }

  const alarms = ofType('AWS::CloudWatch::Alarm').length;
  const dashboards = ofType('AWS::CloudWatch::Dashboard').length;
  if (alarms + dashboards > 0) {
    both(`alarms: ${alarms}, dashboards: ${dashboards}`,
      alarms * price(prices, 'cloudwatch.alarmMonth') + dashboards * price(prices, 'cloudwatch.dashboardMonth'));
  }

  // the ECR copies of the public images (ImageMirror.ecr()): storage of the current tag of each
  const copies = ofType('Custom::CDKECRDeployment').map(r => String(r.Properties?.SrcImage ?? ''));
  if (copies.length > 0) {
    const gb = copies.reduce((n, src) => n + (/git-sync/.test(src) ? COPIED_IMAGE_GB.gitSync : COPIED_IMAGE_GB.airflow), 0);
    both(`ECR image copies: ${copies.length} (~${gb.toFixed(2)} GB, assumed sizes)`, gb * price(prices, 'ecr.storage.gbMonth'));
  }

  const secrets = ofType('AWS::SecretsManager::Secret').length;
  if (secrets > 0) both(`secrets: ${secrets}`, secrets * price(prices, 'secretsManager.secretMonth'));

  const idle = lines.reduce((n, l) => n + l.idle, 0);
  const full = lines.reduce((n, l) => n + l.full, 0);
  const mwaaHourly = price(prices, 'mwaa.mw1.small.hour');
  const mwaa = { environmentClass: 'mw1.small', hourly: mwaaHourly, monthly: mwaaHourly * hours };
  const usd = (key: string) => `$${price(prices, key)}`;
  return {
    region: prices.region,
    readOn: prices.readOn,
    hoursPerMonth: hours,
    lines,
    idle,
    full,
    mwaa,
    idlePercentOfMwaa: 100 * idle / mwaa.monthly,
    notCounted: [
      ...(nat > 0 ? [`NAT data ${usd('vpc.natGateway.gb')}/GB`] : []),
      `ALB LCUs ${usd('elb.alb.lcuHour')}/LCU-hour`,
      `CloudWatch Logs ${usd('cloudwatch.logsIngestion.gb')}/GB ingested`,
      'S3, data transfer, the migration and db-clean tasks, free tiers',
    ],
  };
}

export function renderCost(e: CostEstimate): string {
  const width = Math.max(44, ...e.lines.map(l => l.item.length));
  const row = (item: string, idle: string, full: string) => `  ${item.padEnd(width)} ${idle.padStart(9)} ${full.padStart(11)}`;
  const out = [
    `Monthly cost at ${e.region} list prices (scripts/cost/prices.json, read ${e.readOn}; ${e.hoursPerMonth} hours):`,
    row('item', 'idle', 'full scale'),
    ...e.lines.map(l => row(l.item, money(l.idle), money(l.full))),
    row('total', money(e.idle), money(e.full)),
    '',
    `Amazon MWAA ${e.mwaa.environmentClass} at $${e.mwaa.hourly}/hour: ${money(e.mwaa.monthly)} a month; `
      + `idle, this deployment costs ${e.idlePercentOfMwaa.toFixed(0)}% of it.`,
    `Not counted (they depend on use): ${e.notCounted.join(', ')}.`,
  ];
  return out.join('\n');
}

if (require.main === module) {
  console.log(renderCost(estimateCost(process.argv[2] ?? 'cdk.out')));
}
