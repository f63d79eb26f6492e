// Renders the README's "Default settings" table from src/private/defaults.ts, so the two cannot
// drift: test/readme.test.ts fails when README.md does not contain this exact table.
// `npx ts-node --project tsconfig.dev.json scripts/readme-defaults.ts --write` updates README.md.
import * as fs from 'fs';
import * as path from 'path';
import { AirflowVersion } from '../src/common/airflow-version';
import { DEFAULTS } from '../src/private/defaults';
import { NAG } from '../src/private/nag';

const size = (c: { cpu: number; memoryLimitMiB: number }) => `${c.cpu / 1024} vCPU, ${c.memoryLimitMiB / 1024} GiB`;
const tasks = (n: number) => `${n} task${n === 1 ? '' : 's'}`;

export function defaultsTable(): string {
  const rows: [string, string, string][] = [
    ['Image', `\`apache/airflow:${AirflowVersion.latest().version}\``, 'The newest stable release, pinned; 3.1 and 3.2 supported too (`AirflowVersion`); `AirflowImage.fromEcrRepository` / `fromAsset` for your own'],
    ['Image source', 'a copy in ECR (`ImageMirror.ecr()`)', 'Copied at deploy time into an ECR repository of the stack, for the tasks\' architecture and under the upstream tag: tasks never pull from Docker Hub (10 anonymous pulls per hour per IP) or registry.k8s.io; `ImageMirror.upstream()` to pull from them'],
    ['CPU architecture', DEFAULTS.cpuArchitecture, 'Graviton: about 20% cheaper than x86 for the same size'],
    ['api-server', `${size(DEFAULTS.apiServer)}, ${tasks(DEFAULTS.apiServer.desiredCount)}`, 'Peaked at 354 MiB in the local ECS runtime; synth refuses less than 1 GiB for any control-plane component ("Cost and performance")'],
    ['scheduler', `${size(DEFAULTS.scheduler)}, ${tasks(DEFAULTS.scheduler.desiredCount)}`, 'Peaked at 418 MiB; health check on port 8974'],
    ['dag-processor', `${size(DEFAULTS.dagProcessor)}, ${tasks(DEFAULTS.dagProcessor.desiredCount)}`, 'Parses DAG files; required in Airflow 3'],
    ['triggerer', `${size(DEFAULTS.triggerer)}, ${tasks(DEFAULTS.triggerer.desiredCount)}`, 'Async triggers need little CPU; peaked at 384 MiB'],
    ['Control plane layout', 'one service per component', `\`compactControlPlane: true\` runs the triggerer in the dag-processor's task (${size(DEFAULTS.compactControlPlane)}): one task less, about $6 a month; the two then restart and deploy together`],
    ['Celery workers', `${size(DEFAULTS.workers)}, ${DEFAULTS.workers.concurrency} tasks at a time`, 'Workers died at 1 GiB in the story (commit #45); synth checks 512 MiB for the worker, 256 MiB per running task and the sidecars\' reservations'],
    ['Worker scaling', `${DEFAULTS.workerScaling.minCapacity}–${DEFAULTS.workerScaling.maxCapacity} workers on ceil((queued + running) / concurrency); scale-in after ${DEFAULTS.workerScaling.scaleInCooldownSeconds / 60} min`, 'Scale to zero when idle; CPU is the wrong signal for Celery'],
    ['Worker capacity', `${DEFAULTS.workerScaling.spotPercent}% Fargate Spot, ${100 - DEFAULTS.workerScaling.spotPercent}% on-demand`, 'Fargate never falls back to on-demand by itself; the control plane is never on Spot'],
    ['Parallelism', `workers max x concurrency (${DEFAULTS.workerScaling.maxCapacity * DEFAULTS.workers.concurrency})`, 'Airflow\'s default 32 would cap the workers at 4'],
    ['Max queue wait', `${DEFAULTS.workerScaling.maxQueueWaitSeconds / 60} min`, 'task_queued_timeout and the Execution API token outlive a cold start'],
    ['Migration task', size(DEFAULTS.migration), '`airflow db migrate` once per deployment'],
    ['db clean', `daily at 03:00 UTC, keeps ${DEFAULTS.databaseCleanup.retentionDays} days, ${size(DEFAULTS.databaseCleanup)}`, 'A metadata database that grows without end gets slow'],
    ['Alarms', `queue not empty for ${DEFAULTS.monitoring.queuedTasksAlarmMinutes} min, database CPU > ${DEFAULTS.monitoring.databaseCpuPercent}%, free storage < ${DEFAULTS.monitoring.databaseFreeStorageGiB} GiB, connections > ${DEFAULTS.monitoring.databaseConnectionsPercent}%, broker memory > ${DEFAULTS.monitoring.brokerMemoryPercent}%, api-server down or ${DEFAULTS.monitoring.apiServer5xxCount} 5xx / 5 min`, 'No actions until `monitoring.alarmTopic` is set'],
    ['Container log retention', `${DEFAULTS.logRetentionDays} days`, 'CloudWatch Logs, one log group per component'],
    ['api-server health-check grace period', `${DEFAULTS.healthCheckGracePeriodSeconds} s`, 'Image pull + DB check + migration wait + start (commit #42)'],
    ['Load balancer deregistration delay', `${DEFAULTS.deregistrationDelaySeconds} s`, 'CDK\'s 300 s makes every deployment slow'],
    ['Migration wait timeout', `${DEFAULTS.migrationWaitTimeoutSeconds} s`, '`airflow db check-migrations` before each component starts'],
    ['Migration deployment timeout', `${DEFAULTS.migrationTimeoutMinutes} min`, 'A stuck migration fails the deployment'],
    ['Admin user', `\`${DEFAULTS.adminUsername}\``, 'Password generated in Secrets Manager'],
    ['Service Connect namespace', `\`${DEFAULTS.serviceConnectNamespace}\`, api-server at \`${DEFAULTS.apiServerDnsName}:8080\``, 'Workers reach the Execution API (commit #46)'],
    ['VPC', `${DEFAULTS.vpcMaxAzs} AZs, ${DEFAULTS.vpcNatGateways} NAT instance (${DEFAULTS.natInstanceType}), S3 gateway endpoint`,
      'Public, private and isolated subnets; `natProvider: ec2.NatProvider.gateway()` for a NAT gateway'],
    ['Database', `PostgreSQL ${DEFAULTS.databaseEngineMajorVersion} on ${DEFAULTS.databaseInstanceType}, ${DEFAULTS.databaseAllocatedStorageGiB}–${DEFAULTS.databaseMaxAllocatedStorageGiB} GiB gp3, encrypted, TLS only`, 'Database `' + DEFAULTS.databaseName + '`, user `' + DEFAULTS.databaseUsername + '`'],
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
    natInstanceMonitoring: 'the NAT instance, without `natProvider`',
    natInstanceTermination: 'the NAT instance, without `natProvider`',
    databaseMonitoringRole: 'the database\'s enhanced-monitoring role',
    databasePort: 'the database',
    brokerMultiAz: 'the broker, when `broker.replicas` is 0',
    logBucketAccessLogs: 'the log bucket',
    taskEnvironment: 'every task definition',
    logBucketObjects: 'every task role',
    secretsBackend: 'each task role\'s secrets backend policy, with `secretsBackend`',
    executeCommand: 'each task role\'s ECS Exec policy, with `enableExecuteCommand`',
    putMetricData: 'the scheduler task role',
    taskProtection: 'the worker task role',
    migrationLambdas: 'the migration runner and its provider',
    lambdaBasicExecution: 'the migration runner and its provider, the image-copy function',
    lambdaVpcExecution: 'the image-copy function',
    imageCopy: 'the image-copy function',
    ecrAuthorizationToken: 'every task execution role, with `ImageMirror.ecr()`',
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

/**
 * The AWS Control Tower proactive controls (cfn-guard rules) the example apps do not meet, each a
 * deliberate choice with the way to change it. test/security/guard.test.ts runs the rules and
 * requires the violations to be exactly these.
 */
export const GUARD_EXCEPTIONS: Record<string, { rule: string; why: string; change: string }> = {
  'CT.CLOUDWATCH.PR.1': { rule: 'alarms have an action', why: 'the git-sync and queue-metrics alarms are yours to route', change: '`alarm.addAlarmAction(new SnsAction(topic))` on `syncErrorsAlarm` / `metricsMissingAlarm`' },
  'CT.CLOUDWATCH.PR.2': { rule: 'log groups kept one year', why: 'container logs are kept 30 days to keep costs down; task logs are in S3', change: '`logRetention: logs.RetentionDays.ONE_YEAR`' },
  'CT.CLOUDWATCH.PR.3': { rule: 'log groups encrypted with KMS', why: 'CloudWatch Logs encrypts at rest with its own keys; no secret is logged', change: 'set `kmsKeyId` on the log groups (`airflow.scheduler.logGroup`) with an escape hatch' },
  'CT.EC2.PR.8': { rule: 'no public address on an instance', why: 'the NAT instance (the default egress) needs one to reach the internet', change: '`natProvider: ec2.NatProvider.gateway()`' },
  'CT.EC2.PR.13': { rule: 'instances with detailed monitoring', why: 'as cdk-nag EC28 above', change: '`natProvider: ec2.NatProvider.gateway()`' },
  'CT.EC2.PR.19': { rule: 'Nitro instance types with encryption in transit between instances', why: 'the NAT instance is a t4g.nano; what passes through it is TLS (AWS APIs, git, PyPI)', change: '`natProvider: ec2.NatProvider.gateway()`' },
  'CT.ECS.PR.3': { rule: 'containers run as non-root', why: 'only `git-sync-prepare` (DagSource.gitSync) runs as root, for a second, to hand the task volume to git-sync; every other container runs as uid 50000 or 65533', change: '`DagSource.fromImage()`' },
  'CT.ECS.PR.6': { rule: 'read-only root file system', why: 'Airflow writes under /opt/airflow and /tmp at run time; the official image does not support a read-only root', change: '—' },
  'CT.ECS.PR.7': { rule: 'container memory hard limits', why: 'the task\'s memory is the hard limit; per-container limits would split it and OOM-kill Airflow first. Sidecars have soft reservations', change: '—' },
  'CT.ECR.PR.3': { rule: 'ECR tag immutability', why: 'the image copies keep the upstream tag, and a rollback copies the previous tag again, which an immutable repository refuses (cdklabs/cdk-ecr-deployment#207)', change: '`imageMirror: ImageMirror.upstream()` and your own immutable repository with `AirflowImage.fromEcrRepository`' },
  'CT.ELASTICLOADBALANCING.PR.1': { rule: 'HTTP redirects to HTTPS', why: 'the default internal load balancer serves HTTP inside the VPC', change: '`WebAccess.internalLoadBalancer({ certificate })` or `WebAccess.publicHttps({ certificate })`' },
  'CT.ELASTICLOADBALANCING.PR.5': { rule: 'load balancer deletion protection', why: 'the services stack is meant to be destroyable and recreatable', change: '`airflow.loadBalancer.setAttribute(\'deletion_protection.enabled\', \'true\')`' },
  'CT.ELASTICLOADBALANCING.PR.6': { rule: 'load balancer access logs', why: 'as cdk-nag ELB2 above', change: '`airflow.loadBalancer.logAccessLogs(bucket)`' },
  'CT.LAMBDA.PR.3': { rule: 'Lambda functions in a VPC', why: 'the migration runner calls only the ECS and CloudFormation APIs; in the VPC it would need the NAT gateway or endpoints', change: '—' },
  'CT.RDS.PR.1': { rule: 'Multi-AZ database', why: 'doubles the database cost', change: '`database.multiAz: true`' },
  'CT.RDS.PR.20': { rule: 'non-default database port', why: 'as cdk-nag RDS11 above', change: '—' },
  'CT.RDS.PR.30': { rule: 'database encrypted with a customer KMS key', why: 'encrypted with the AWS-managed RDS key by default', change: '`database.encryptionKey` (before the first deployment: changing it replaces the database)' },
  'CT.S3.PR.2': { rule: 'bucket access logging', why: 'as cdk-nag S1 above', change: '—' },
  'CT.S3.PR.4': { rule: 'bucket event notifications', why: 'nothing consumes task-log events', change: '—' },
  'CT.S3.PR.9': { rule: 'S3 Object Lock', why: 'task logs are not records to lock; versioning keeps overwritten logs 30 days', change: '—' },
  'CT.S3.PR.10': { rule: 'bucket encrypted with KMS', why: 'S3-managed encryption (SSE-S3): no per-request KMS cost for log writes', change: '—' },
  'CT.STEPFUNCTIONS.PR.1': { rule: 'state machine logging', why: 'as cdk-nag SF1 above (the CDK provider framework\'s waiter)', change: '—' },
  'CT.STEPFUNCTIONS.PR.2': { rule: 'state machine X-Ray tracing', why: 'as cdk-nag SF2 above', change: '—' },
};

export function guardTable(): string {
  return [
    '| Control | What it asks | Why not by default | To meet it |',
    '|---|---|---|---|',
    ...Object.entries(GUARD_EXCEPTIONS).map(([id, e]) => `| \`${id}\` | ${e.rule} | ${e.why} | ${e.change} |`),
  ].join('\n');
}

export const START = '<!-- defaults:start (generated by scripts/readme-defaults.ts) -->';
export const END = '<!-- defaults:end -->';
export const NAG_START = '<!-- nag:start (generated by scripts/readme-defaults.ts) -->';
export const NAG_END = '<!-- nag:end -->';
export const GUARD_START = '<!-- guard:start (generated by scripts/readme-defaults.ts) -->';
export const GUARD_END = '<!-- guard:end -->';

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
  readme = replaceBetween(readme, GUARD_START, GUARD_END, guardTable());
  fs.writeFileSync(file, readme);
}
