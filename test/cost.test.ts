/**
 * The cost estimate of `npm run example` (scripts/cost/estimate.ts): every line item comes from the
 * synthesized templates and the price list, none is written down per example.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { estimateCost, loadPrices, PriceList, renderCost } from '../scripts/cost/estimate';
import { AirflowOnEcs, AirflowOnEcsProps, AirflowStorage, AirflowStorageProps } from '../src';

/** Round prices, so each expected figure below can be worked out by hand. */
function roundPrices(): PriceList {
  const p = (usd: number) => ({ usd, unit: 'test', source: 'test', seenAt: 'test', verified: false });
  return {
    region: 'test-region',
    readOn: '2026-12-02',
    hoursPerMonth: 1000,
    prices: {
      'fargate.arm64.vcpuHour': p(0.04),
      'fargate.arm64.gbHour': p(0.005),
      'fargate.x86_64.vcpuHour': p(0.05),
      'fargate.x86_64.gbHour': p(0.006),
      'fargate.spotDiscount': p(0.5),
      'rds.postgres.db.t4g.micro.hour': p(0.02),
      'rds.postgres.db.t4g.small.hour': p(0.03),
      'rds.gp3.gbMonth': p(0.1),
      'elasticache.valkey.cache.t4g.micro.hour': p(0.01),
      'vpc.natGateway.hour': p(0.05),
      'vpc.natGateway.gb': p(0.05),
      'vpc.publicIpv4.hour': p(0.005),
      'ec2.t4g.nano.hour': p(0.004),
      'ec2.ebs.gp3.gbMonth': p(0.1),
      'elb.alb.hour': p(0.02),
      'elb.alb.lcuHour': p(0.01),
      'cloudwatch.metricMonth': p(0.3),
      'cloudwatch.putMetricData.per1000': p(0.01),
      'cloudwatch.alarmMonth': p(0.1),
      'cloudwatch.dashboardMonth': p(3),
      'cloudwatch.logsIngestion.gb': p(0.5),
      'secretsManager.secretMonth': p(0.4),
      'ecr.storage.gbMonth': p(0.1),
      'mwaa.mw1.small.hour': p(0.5),
    },
  };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach(d => fs.rmSync(d, { recursive: true, force: true })));

/** Synthesizes the example's two-stack shape into a cloud assembly on disk, as the CLI would. */
function assembly(props: Omit<AirflowOnEcsProps, 'storage'> = {}, storageProps: AirflowStorageProps = {}): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-cost-'));
  dirs.push(outdir);
  const app = new App({ outdir });
  const storage = new AirflowStorage(new Stack(app, 'Storage'), 'Storage', storageProps);
  new AirflowOnEcs(new Stack(app, 'Services'), 'Airflow', { ...props, storage });
  app.synth();
  return outdir;
}

const line = (e: ReturnType<typeof estimateCost>, prefix: string) => {
  const found = e.lines.filter(l => l.item.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0];
};

describe('a deployment with known sizes', () => {
  let estimate: ReturnType<typeof estimateCost>;
  beforeAll(() => {
    estimate = estimateCost(assembly({
      scheduler: { cpu: 512, memoryLimitMiB: 1024 },
      workers: { minCapacity: 1, maxCapacity: 4, spotPercent: 50 },
    }, {
      database: { instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO), multiAz: true, allocatedStorageGiB: 30 },
      natProvider: ec2.NatProvider.gateway(),
    }), roundPrices());
  }, 120_000);

  test('a fixed service costs its size for every hour, idle and at full scale', () => {
    // 1000 h x (0.5 vCPU x $0.04 + 1 GiB x $0.005)
    expect(line(estimate, 'scheduler:')).toEqual({ item: 'scheduler: 1 × 0.5 vCPU / 1 GiB ARM64', idle: 25, full: 25 });
  });

  test('workers cost their minimum idle and their maximum at full scale, with the Spot share discounted', () => {
    // 1000 h x (1 vCPU x $0.04 + 3 GiB x $0.005) = $55 a task, x (1 - 50% x 0.5) = $41.25
    const workers = line(estimate, 'celery-worker:');
    expect(workers.item).toBe('celery-worker: 1–4 × 1 vCPU / 3 GiB ARM64, 50% Spot');
    expect(workers.idle).toBeCloseTo(41.25, 6);
    expect(workers.full).toBeCloseTo(165, 6);
  });

  test('the database counts its class, its storage and both copies when Multi-AZ', () => {
    // 2 x (1000 h x $0.02 + 30 GB x $0.1)
    const db = line(estimate, 'database:');
    expect(db.item).toBe('database: db.t4g.micro, Multi-AZ (postgres) + 30 GB gp3');
    expect(db.idle).toBeCloseTo(46, 6);
  });

  test('NAT gateways, Elastic IPs, the broker and the secrets are counted from the templates', () => {
    expect(line(estimate, 'NAT gateways:').item).toBe('NAT gateways: 1');
    expect(line(estimate, 'NAT gateways:').idle).toBeCloseTo(50, 6);
    expect(line(estimate, 'public IPv4 addresses:').idle).toBeCloseTo(5, 6);
    expect(line(estimate, 'broker:').item).toBe('broker: 1 × cache.t4g.micro (valkey)');
    expect(line(estimate, 'broker:').idle).toBeCloseTo(10, 6);
    const storage = JSON.parse(fs.readFileSync(path.join(dirs[0], 'Storage.template.json'), 'utf8'));
    const secrets = Object.values<any>(storage.Resources).filter(r => r.Type === 'AWS::SecretsManager::Secret').length;
    expect(line(estimate, 'secrets:').item).toBe(`secrets: ${secrets}`);
  });

  test('a compact control plane: one shared task for the dag-processor and the triggerer, priced at its size', () => {
    const separate = estimateCost(assembly(), roundPrices());
    const compact = estimateCost(assembly({ compactControlPlane: true }), roundPrices());
    // 1000 h x (0.5 vCPU x $0.04 + 2 GiB x $0.005)
    expect(line(compact, 'dag-processor + triggerer:')).toEqual({ item: 'dag-processor + triggerer: 1 × 0.5 vCPU / 2 GiB ARM64', idle: 30, full: 30 });
    expect(compact.lines.some(l => l.item.startsWith('triggerer:'))).toBe(false);
    // instead of 1000 h x (0.5 x $0.04 + 1 x $0.005) + 1000 h x (0.25 x $0.04 + 1 x $0.005) = $25 + $15
    expect(line(separate, 'dag-processor:').idle + line(separate, 'triggerer:').idle).toBeCloseTo(40, 6);
    // and one airflow-metrics sidecar less: 1000 h x 60 PutMetricData calls x $0.01 / 1000
    expect(separate.idle - compact.idle).toBeCloseTo(10 + 0.6, 6);
  }, 120_000);

  test('the default NAT instance: its hours, its root volume and its public address, and no NAT data charge', () => {
    const e = estimateCost(assembly(), roundPrices());
    // 1000 h x $0.004 + 8 GB x $0.1
    expect(line(e, 'EC2 instances (NAT):')).toEqual({ item: 'EC2 instances (NAT): 1 × t4g.nano + 8 GB gp3', idle: 4.8, full: 4.8 });
    expect(e.lines.some(l => l.item.startsWith('NAT gateways:'))).toBe(false);
    expect(line(e, 'public IPv4 addresses:').idle).toBeCloseTo(5, 6);
    expect(e.notCounted.join(' ')).not.toContain('NAT data');
  }, 120_000);

  test('the ECR copies of the public images are counted at their assumed compressed size', () => {
    // the official Airflow image only (DAGs in the image): 0.6 GB at $0.1/GB-month
    expect(line(estimate, 'ECR image copies:').item).toBe('ECR image copies: 1 (~0.60 GB, assumed sizes)');
    expect(line(estimate, 'ECR image copies:').idle).toBeCloseTo(0.06, 6);
  });

  test('custom metrics: 26 + 6 per Airflow pool from the airflow-metrics sidecars, 3 per worker pool and 3 heartbeat ages', () => {
    expect(line(estimate, 'custom metrics:').item).toBe('custom metrics: 38 (Airflow 32, queue and heartbeats 6)');
    expect(line(estimate, 'custom metrics:').idle).toBeCloseTo(38 * 0.3, 6);
  });

  test('PutMetricData calls follow the running tasks: one a minute per airflow-metrics sidecar, four from the publisher', () => {
    // idle: scheduler 1 + 4, dag-processor 1, triggerer 1, one worker 1 = 8 calls a minute; full: 3 more workers
    const calls = line(estimate, 'PutMetricData:');
    expect(calls.idle).toBeCloseTo(8 * 60 * 1000 / 1000 * 0.01, 6);
    expect(calls.full).toBeCloseTo(11 * 60 * 1000 / 1000 * 0.01, 6);
  });

  test('the totals add up the lines, and the MWAA comparison uses its hourly price', () => {
    expect(estimate.idle).toBeCloseTo(estimate.lines.reduce((n, l) => n + l.idle, 0), 6);
    expect(estimate.full - estimate.idle).toBeCloseTo(165 - 41.25 + (11 - 8) * 60 * 1000 / 1000 * 0.01, 6);
    expect(estimate.mwaa.monthly).toBe(500);
    expect(estimate.idlePercentOfMwaa).toBeCloseTo(100 * estimate.idle / 500, 6);
    expect(renderCost(estimate)).toContain(`idle, this deployment costs ${estimate.idlePercentOfMwaa.toFixed(0)}% of it.`);
  });
});

test('without Airflow metrics, only the queue metrics and heartbeat ages are paid for', () => {
  const e = estimateCost(assembly({ monitoring: { airflowMetrics: false } }), roundPrices());
  expect(line(e, 'custom metrics:').item).toBe('custom metrics: 6 (Airflow 0, queue and heartbeats 6)');
});

test('a resource without a price fails loudly, naming the missing key', () => {
  const prices = roundPrices();
  delete prices.prices['rds.postgres.db.t4g.small.hour'];
  expect(() => estimateCost(assembly(), prices)).toThrow(/no price 'rds.postgres.db.t4g.small.hour'/);
});

test('every price in prices.json names its AWS pricing page and where it was read', () => {
  const prices = loadPrices();
  expect(prices.region).toBe('us-east-1');
  expect(prices.readOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  for (const [key, p] of Object.entries(prices.prices)) {
    expect([key, p.source]).toEqual([key, expect.stringMatching(/^https:\/\/aws\.amazon\.com\//)]);
    expect([key, p.seenAt.length > 0, typeof p.verified, p.usd > 0]).toEqual([key, true, 'boolean', true]);
  }
});
