/**
 * Every default of the library in one place: the constructors read them from here, and the
 * README's "Default settings" table is rendered from here (scripts/readme-defaults.ts; checked by
 * test/readme.test.ts).
 */
export const DEFAULTS = {
  cpuArchitecture: 'ARM64',

  // From the local ECS runtime's resource scenario: busy peaks of 306-354 MiB (api-server),
  // 405-418 (scheduler), 279-320 (dag-processor) and 369-384 (triggerer), each plus the Service
  // Connect proxy; README, "Cost and performance".
  apiServer: { cpu: 512, memoryLimitMiB: 1024, desiredCount: 1 },
  scheduler: { cpu: 512, memoryLimitMiB: 1024, desiredCount: 1 },
  dagProcessor: { cpu: 512, memoryLimitMiB: 1024, desiredCount: 1 },
  triggerer: { cpu: 256, memoryLimitMiB: 1024, desiredCount: 1 },
  // the dag-processor and the triggerer in one task (AirflowOnEcs compactControlPlane): 1 GiB each
  compactControlPlane: { cpu: 512, memoryLimitMiB: 2048 },
  workers: { cpu: 1024, memoryLimitMiB: 3072, concurrency: 8, queues: ['default'], stopTimeoutSeconds: 120 },
  migration: { cpu: 512, memoryLimitMiB: 1024 },
  workerScaling: {
    minCapacity: 0,
    maxCapacity: 10,
    scaleInCooldownSeconds: 300,
    maxQueueWaitSeconds: 1800,
    spot: true,
    spotPercent: 75,
    onDemandBase: 0,
    protectionMinutes: 15,
    publishPeriodSeconds: 30,
    protectPeriodSeconds: 15,
  },

  logRetentionDays: 30,
  healthCheckGracePeriodSeconds: 480,
  deregistrationDelaySeconds: 30,
  migrationWaitTimeoutSeconds: 600,
  migrationTimeoutMinutes: 30,
  adminUsername: 'admin',
  adminEmail: 'admin@example.com',
  serviceConnectNamespace: 'airflow.internal',
  apiServerDnsName: 'airflow-api-server',

  gitSync: {
    image: 'registry.k8s.io/git-sync/git-sync:v4.7.1',
    periodSeconds: 60,
    depth: 1,
    maxFailures: -1,
    username: 'git',
    mountPath: '/opt/airflow/git',
  },

  vpcMaxAzs: 2,
  vpcNatGateways: 1,
  natInstanceType: 't4g.nano',
  databaseInstanceType: 'db.t4g.small',
  databaseEngineMajorVersion: '17',
  databaseAllocatedStorageGiB: 20,
  databaseMaxAllocatedStorageGiB: 100,
  databaseBackupRetentionDays: 7,
  databaseName: 'airflow',
  databaseUsername: 'airflow',
  databaseMultiAz: false,
  databaseRemovalPolicy: 'SNAPSHOT',
  databaseDeletionProtection: true,
  brokerNodeType: 'cache.t4g.micro',
  brokerEngineVersion: '8.0',
  brokerReplicas: 0,
  logBucketRemovalPolicy: 'RETAIN',
  secretsRemovalPolicy: 'RETAIN',

  databaseCleanup: { retentionDays: 90, cpu: 512, memoryLimitMiB: 1024, batchSize: 10000 },

  monitoring: {
    queuedTasksAlarmMinutes: 30,
    databaseCpuPercent: 80,
    databaseFreeStorageGiB: 2,
    databaseConnectionsPercent: 80,
    brokerMemoryPercent: 80,
    apiServer5xxCount: 10,
  },
} as const;

/** Ports Airflow listens on. */
export const PORTS = {
  apiServer: 8080,
  schedulerHealth: 8974,
  workerLogs: 8793,
  triggererLogs: 8794,
  postgres: 5432,
  valkey: 6379,
} as const;

/** The official image's airflow user (uid 50000) and group (gid 0, which its entrypoint requires). */
export const AIRFLOW_USER = '50000:0';
