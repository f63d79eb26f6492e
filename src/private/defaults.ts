/**
 * Every default of the library in one place. The README's "Default settings" table is checked
 * against this module by test/readme-defaults.test.ts, so change both together.
 */
export const DEFAULTS = {
  cpuArchitecture: 'ARM64',

  apiServer: { cpu: 1024, memoryLimitMiB: 2048, desiredCount: 1 },
  scheduler: { cpu: 1024, memoryLimitMiB: 2048, desiredCount: 1 },
  dagProcessor: { cpu: 1024, memoryLimitMiB: 2048, desiredCount: 1 },
  triggerer: { cpu: 512, memoryLimitMiB: 1024, desiredCount: 1 },
  workers: { cpu: 1024, memoryLimitMiB: 3072, desiredCount: 1, concurrency: 8 },
  migration: { cpu: 512, memoryLimitMiB: 1024 },
  workerScaling: { minCapacity: 0, maxCapacity: 10, scaleInCooldownSeconds: 300, maxQueueWaitSeconds: 1800, spotPercent: 75, protectionMinutes: 15 },

  logRetentionDays: 30,
  healthCheckGracePeriodSeconds: 480,
  deregistrationDelaySeconds: 30,
  migrationWaitTimeoutSeconds: 600,
  migrationTimeoutMinutes: 30,
  adminUsername: 'admin',
  serviceConnectNamespace: 'airflow.internal',
  apiServerDnsName: 'airflow-api-server',

  vpcMaxAzs: 2,
  vpcNatGateways: 1,
  databaseInstanceType: 'db.t4g.small',
  databaseEngine: 'PostgreSQL 17',
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
} as const;

/** Ports Airflow listens on (DESIGN §2). */
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
