// Renders the README's "Default settings" table from src/private/defaults.ts, so the two cannot
// drift: test/readme.test.ts fails when README.md does not contain this exact table.
// `npx ts-node --project tsconfig.dev.json scripts/readme-defaults.ts --write` updates README.md.
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULTS } from '../src/private/defaults';
import { NAG } from '../src/private/nag';

const size = (c: { cpu: number; memoryLimitMiB: number }) => `${c.cpu / 1024} vCPU, ${c.memoryLimitMiB / 1024} GiB`;
const tasks = (n: number) => `${n} task${n === 1 ? '' : 's'}`;

export function defaultsTable(): string {
  const rows: [string, string, string][] = [
    ['Image', `\`apache/airflow:${DEFAULTS.airflowVersion}\``, 'Official image, pinned; `AirflowImage.fromEcrRepository` / `fromAsset` for your own'],
    ['CPU architecture', DEFAULTS.cpuArchitecture, 'Graviton: about 20% cheaper than x86 for the same size'],
    ['api-server', `${size(DEFAULTS.apiServer)}, ${tasks(DEFAULTS.apiServer.desiredCount)}`, 'The story\'s working size (commit #42)'],
    ['scheduler', `${size(DEFAULTS.scheduler)}, ${tasks(DEFAULTS.scheduler.desiredCount)}`, 'Health check on port 8974'],
    ['dag-processor', `${size(DEFAULTS.dagProcessor)}, ${tasks(DEFAULTS.dagProcessor.desiredCount)}`, 'Parses DAG files; required in Airflow 3'],
    ['triggerer', `${size(DEFAULTS.triggerer)}, ${tasks(DEFAULTS.triggerer.desiredCount)}`, 'Async triggers need little'],
    ['Celery workers', `${size(DEFAULTS.workers)}, ${DEFAULTS.workers.concurrency} tasks at a time`, 'Workers died at 1 GiB in the story (commit #45); ~380 MiB per running task'],
    ['Worker scaling', `${DEFAULTS.workerScaling.minCapacity}–${DEFAULTS.workerScaling.maxCapacity} workers on ceil((queued + running) / concurrency); scale-in after ${DEFAULTS.workerScaling.scaleInCooldownSeconds / 60} min`, 'Scale to zero when idle; CPU is the wrong signal for Celery'],
    ['Worker capacity', `${DEFAULTS.workerScaling.spotPercent}% Fargate Spot, ${100 - DEFAULTS.workerScaling.spotPercent}% on-demand`, 'Fargate never falls back to on-demand by itself; the control plane is never on Spot'],
    ['Parallelism', `workers max x concurrency (${DEFAULTS.workerScaling.maxCapacity * DEFAULTS.workers.concurrency})`, 'Airflow\'s default 32 would cap the workers at 4'],
    ['Max queue wait', `${DEFAULTS.workerScaling.maxQueueWaitSeconds / 60} min`, 'task_queued_timeout and the Execution API token outlive a cold start'],
    ['Migration task', size(DEFAULTS.migration), '`airflow db migrate` once per deployment'],
    ['Container log retention', `${DEFAULTS.logRetentionDays} days`, 'CloudWatch Logs, one log group per component'],
    ['api-server health-check grace period', `${DEFAULTS.healthCheckGracePeriodSeconds} s`, 'Image pull + DB check + migration wait + start (commit #42)'],
    ['Load balancer deregistration delay', `${DEFAULTS.deregistrationDelaySeconds} s`, 'CDK\'s 300 s makes every deployment slow'],
    ['Migration wait timeout', `${DEFAULTS.migrationWaitTimeoutSeconds} s`, '`airflow db check-migrations` before each component starts'],
    ['Migration deployment timeout', `${DEFAULTS.migrationTimeoutMinutes} min`, 'A stuck migration fails the deployment'],
    ['Admin user', `\`${DEFAULTS.adminUsername}\``, 'Password generated in Secrets Manager'],
    ['Service Connect namespace', `\`${DEFAULTS.serviceConnectNamespace}\`, api-server at \`${DEFAULTS.apiServerDnsName}:8080\``, 'Workers reach the Execution API (commit #46)'],
    ['VPC', `${DEFAULTS.vpcMaxAzs} AZs, ${DEFAULTS.vpcNatGateways} NAT gateway`, 'Public, private and isolated subnets'],
    ['Database', `${DEFAULTS.databaseEngine} on ${DEFAULTS.databaseInstanceType}, ${DEFAULTS.databaseAllocatedStorageGiB}–${DEFAULTS.databaseMaxAllocatedStorageGiB} GiB gp3, encrypted, TLS only`, 'Database `' + DEFAULTS.databaseName + '`, user `' + DEFAULTS.databaseUsername + '`'],
    ['Database backups', `${DEFAULTS.databaseBackupRetentionDays} days`, 'CDK\'s default is 1 day'],
    ['Database Multi-AZ', DEFAULTS.databaseMultiAz ? 'on' : 'off', '`database.multiAz: true` for a standby in a second AZ'],
    ['Database removal', `${DEFAULTS.databaseRemovalPolicy}, deletion protection ${DEFAULTS.databaseDeletionProtection ? 'on' : 'off'}`, 'Deleting the stack keeps a final snapshot'],
    ['Broker', `Valkey ${DEFAULTS.brokerEngineVersion} on ${DEFAULTS.brokerNodeType}, ${DEFAULTS.brokerReplicas} replicas, TLS + AUTH`, 'One shard: Celery cannot use cluster mode or Serverless'],
  ];
  return [
    '| Setting | Default | Why |',
    '|---|---|---|',
    ...rows.map(r => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The cdk-nag acknowledgements the library puts on its resources, with their reasons. */
export function nagTable(): string {
  const where: Record<keyof typeof NAG, string> = {
    secretRotation: 'the six generated secrets',
    databaseMultiAz: 'the database, when `database.multiAz` is off',
    databasePort: 'the database',
    brokerMultiAz: 'the broker, when `broker.replicas` is 0',
    logBucketAccessLogs: 'the log bucket',
    taskEnvironment: 'every task definition',
    logBucketObjects: 'every task role',
    putMetricData: 'the scheduler task role',
    taskProtection: 'the worker task role',
    migrationLambdas: 'the migration runner and its provider',
    lambdaBasicExecution: 'the migration runner and its provider',
    providerRuntime: 'the CDK provider framework functions',
    waiterLogging: 'the CDK provider framework waiter',
    waiterTracing: 'the CDK provider framework waiter',
    loadBalancerAccessLogs: 'the load balancer',
    publicLoadBalancer: 'the load balancer security group, with `WebAccess.publicHttps()` and no `allowedCidrs`',
    vpcCidrIngress: 'the load balancer security group, internal and open to the VPC CIDR',
  };
  return [
    '| Rule | On | Reason |',
    '|---|---|---|',
    ...(Object.keys(NAG) as (keyof typeof NAG)[]).map(k => `| \`${NAG[k].id}\` | ${where[k]} | ${NAG[k].reason} |`),
  ].join('\n');
}

export const START = '<!-- defaults:start (generated by scripts/readme-defaults.ts) -->';
export const END = '<!-- defaults:end -->';
export const NAG_START = '<!-- nag:start (generated by scripts/readme-defaults.ts) -->';
export const NAG_END = '<!-- nag:end -->';

function replaceBetween(text: string, start: string, end: string, body: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < 0) throw new Error(`README.md has no ${start} ... ${end} markers`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

if (require.main === module && process.argv.includes('--write')) {
  const file = path.join(__dirname, '..', 'README.md');
  let readme = fs.readFileSync(file, 'utf8');
  readme = replaceBetween(readme, START, END, defaultsTable());
  readme = replaceBetween(readme, NAG_START, NAG_END, nagTable());
  fs.writeFileSync(file, readme);
}
