import * as ecs from 'aws-cdk-lib/aws-ecs';
import { PORTS } from './defaults';
import {
  BOOTSTRAP_ENV, BROKER_URL_CMD, FERNET_KEY_CMD, RESULT_BACKEND_CMD, RUNTIME_ENV, SQL_ALCHEMY_CONN_ASYNC_CMD, SQL_ALCHEMY_CONN_CMD,
} from './runtime-commands';
import { SSO_ENV } from '../sso/webserver-config';
import type { IAirflowStorage } from '../storage/i-airflow-storage';

/**
 * The connection Airflow writes and reads task logs in S3 with: the task role's credentials, the
 * task's region. It is defined in every container (an `AIRFLOW_CONN_*` variable), because Airflow
 * 3.1's task runner fails every task when the remote log connection does not exist ("generator
 * didn't yield" in the supervisor's `_remote_logging_conn`; fixed in 3.2); the local ECS runtime's
 * DAG-run scenario showed it on 3.1.8. A connection of its own, not `aws_default`, so that the
 * `aws_default` users define for their DAGs is neither shadowed nor required.
 */
export const TASK_LOG_CONNECTION = { id: 'cdk_airflow_ecs_task_logs', uri: 'aws://' } as const;

/** Airflow's production auth manager (the default SimpleAuthManager is for development). */
export const FAB_AUTH_MANAGER = 'airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager';

export interface SharedConfigInput {
  readonly storage: IAirflowStorage;
  /** The Execution API URL the workers call. */
  readonly executionApiServerUrl: string;
  /** The URL users reach the api-server at, if known. */
  readonly baseUrl?: string;
}

/**
 * The environment every Airflow container shares. Configuration is through environment
 * variables only: no airflow.cfg (docs/pitfalls.md, #39).
 */
export function sharedEnvironment(input: SharedConfigInput): Record<string, string> {
  const { storage } = input;
  return {
    AIRFLOW__CORE__EXECUTOR: 'CeleryExecutor',
    AIRFLOW__CORE__AUTH_MANAGER: FAB_AUTH_MANAGER,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    // Tasks record the worker's IP as their hostname, so the api-server can fetch live logs
    // from the worker's log server on Fargate, where hostnames do not resolve.
    AIRFLOW__CORE__HOSTNAME_CALLABLE: 'airflow.utils.net.get_host_ip_address',
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: input.executionApiServerUrl,
    ...(input.baseUrl ? { AIRFLOW__API__BASE_URL: input.baseUrl } : {}),

    // Sensitive values are assembled in the container from ECS secrets (runtime-commands.ts).
    ...databaseEnvironment(storage),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC_CMD: SQL_ALCHEMY_CONN_ASYNC_CMD,
    ...brokerEnvironment(storage),
    AIRFLOW__CELERY__RESULT_BACKEND_CMD: RESULT_BACKEND_CMD,
    AIRFLOW__CORE__FERNET_KEY_CMD: FERNET_KEY_CMD,

    // Task logs survive the worker (workers come and go, and may run on Spot).
    AIRFLOW__LOGGING__REMOTE_LOGGING: 'True',
    AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: `s3://${storage.logBucket.bucketName}/logs`,
    AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID: TASK_LOG_CONNECTION.id,
    [`AIRFLOW_CONN_${TASK_LOG_CONNECTION.id.toUpperCase()}`]: TASK_LOG_CONNECTION.uri,
  };
}

/**
 * The secrets every Airflow container shares, as ECS secrets (resolved by ECS from Secrets
 * Manager when the task starts; never in the template or a plain environment variable).
 */
export function sharedSecrets(storage: IAirflowStorage): Record<string, ecs.Secret> {
  return {
    // Must be identical in every container: unset, each process invents its own and tasks fail
    // with "Invalid auth token: Signature verification failed" (docs/pitfalls.md, #47).
    AIRFLOW__API_AUTH__JWT_SECRET: ecs.Secret.fromSecretsManager(storage.jwtSecret),
    AIRFLOW__API__SECRET_KEY: ecs.Secret.fromSecretsManager(storage.apiSecretKeySecret),
    ...databaseSecrets(storage),
    ...brokerSecrets(storage),
    [RUNTIME_ENV.fernetKey]: ecs.Secret.fromSecretsManager(storage.fernetKeySecret),
  };
}

/**
 * Where Airflow sends StatsD: the library's while `monitoring.airflowMetrics` is on (AirflowOnEcs
 * checks that), the user's when it is off (to a Datadog agent sidecar, say).
 */
export const STATSD_VARIABLES = ['AIRFLOW__METRICS__STATSD_ON', 'AIRFLOW__METRICS__STATSD_HOST', 'AIRFLOW__METRICS__STATSD_PORT', 'AIRFLOW__METRICS__STATSD_PREFIX'];

/**
 * Every variable the library sets, with how a user changes it: the option that sets it, or
 * `none: <why>` when no option does. One table for every component, the migration and the
 * scaling sidecars; test/airflow-config.test.ts checks that it names every variable synthesized.
 */
export const MANAGED_VARIABLES: Record<string, string> = {
  AIRFLOW__CORE__EXECUTOR: 'none: cdk-airflow-ecs runs the Celery executor',
  AIRFLOW__CORE__AUTH_MANAGER: 'none: users and roles live in the metadata database (the FAB auth manager)',
  AIRFLOW__CORE__LOAD_EXAMPLES: 'none: Airflow\'s example DAGs stay off; deliver your DAGs with dags',
  AIRFLOW__CORE__HOSTNAME_CALLABLE: 'none: tasks record the worker\'s address, so the api-server can read their live logs from it',
  AIRFLOW__CORE__EXECUTION_API_SERVER_URL: 'executionApiServerUrl (AirflowService; AirflowOnEcs reaches the api-server through Service Connect)',
  AIRFLOW__API__BASE_URL: 'webAccess (its domainName)',
  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD: 'storage (its database and databaseSecret)',
  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC_CMD: 'storage (its database and databaseSecret)',
  AIRFLOW__CELERY__BROKER_URL_CMD: 'storage (its broker and brokerAuthTokenSecret)',
  AIRFLOW__CELERY__RESULT_BACKEND_CMD: 'storage (its database and databaseSecret)',
  AIRFLOW__CORE__FERNET_KEY_CMD: 'storage.fernetKeySecret',
  AIRFLOW__API_AUTH__JWT_SECRET: 'storage.jwtSecret',
  AIRFLOW__API__SECRET_KEY: 'storage.apiSecretKeySecret',
  AIRFLOW__LOGGING__REMOTE_LOGGING: 'storage.logBucket (task logs go under its logs/ prefix)',
  AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: 'storage.logBucket (task logs go under its logs/ prefix)',
  AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID: 'storage.logBucket (task logs go under its logs/ prefix)',
  [`AIRFLOW_CONN_${TASK_LOG_CONNECTION.id.toUpperCase()}`]: 'storage.logBucket (task logs go under its logs/ prefix)',
  FORWARDED_ALLOW_IPS: 'none: the api-server runs behind the load balancer and must trust its X-Forwarded headers',
  AIRFLOW__FAB__ENABLE_PROXY_FIX: 'none: the api-server runs behind the load balancer and must trust its X-Forwarded headers',
  AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: 'none: the scheduler\'s container health check uses it',
  AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT: 'none: the scheduler\'s container health check uses it',
  AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD: 'none: the dag-processor\'s container health check uses it',
  AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: 'none: the security groups open this port to the api-server',
  AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: 'none: the security groups open this port to the api-server',
  ...Object.fromEntries(STATSD_VARIABLES.map(name => [name, 'monitoring.airflowMetrics'])),
  DUMB_INIT_SETSID: 'none: Celery workers need it to finish running tasks when they stop',
  AIRFLOW__CORE__DAGS_FOLDER: 'dags',
  AIRFLOW__SMTP__SMTP_HOST: 'smtp.host',
  AIRFLOW__SMTP__SMTP_PORT: 'smtp.port',
  AIRFLOW__SMTP__SMTP_STARTTLS: 'smtp.encryption',
  AIRFLOW__SMTP__SMTP_SSL: 'smtp.encryption',
  AIRFLOW__SMTP__SMTP_MAIL_FROM: 'smtp.fromAddress',
  AIRFLOW__EMAIL__FROM_EMAIL: 'smtp.fromAddress',
  AIRFLOW_CONN_SMTP_DEFAULT: 'smtp.credentials',
  AIRFLOW__FAB__CONFIG_FILE: 'singleSignOn (the api-server writes a generated webserver_config.py there)',
  ...Object.fromEntries(Object.values(SSO_ENV).map(n => [n, 'singleSignOn'])),
  AIRFLOW__SECRETS__BACKEND: 'secretsBackend',
  AIRFLOW__SECRETS__BACKEND_KWARGS: 'secretsBackend',
  AIRFLOW__CELERY__WORKER_CONCURRENCY: 'workers.concurrency',
  AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT: 'workers.maxQueueWait',
  AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME: 'workers.maxQueueWait',
  AIRFLOW__CORE__PARALLELISM: 'the maxCapacity x concurrency of workers and each of workerPools',
  ...Object.fromEntries(Object.values(RUNTIME_ENV).map(n => [n, 'none: the containers\' commands build the connection URLs from it'])),
  [BOOTSTRAP_ENV.adminUsername]: 'adminUsername',
  [BOOTSTRAP_ENV.adminEmail]: 'adminEmail (AirflowDatabaseMigration)',
  [BOOTSTRAP_ENV.adminPassword]: 'storage.adminPasswordSecret',
};

/** The library's explanation for a variable name, including the plain and `_SECRET` forms of its `_CMD` variables. */
export function managedVariable(name: string): string | undefined {
  return MANAGED_VARIABLES[name] ?? MANAGED_VARIABLES[`${name}_CMD`] ?? (name.endsWith('_SECRET') ? MANAGED_VARIABLES[`${name.slice(0, -'_SECRET'.length)}_CMD`] : undefined);
}

/** How a variable the library manages is set, and the fix for a user who sets it: "set by ... ; remove it ...". */
export function managedExplanation(name: string): string | undefined {
  const setBy = managedVariable(name);
  if (setBy === undefined) return undefined;
  return setBy.startsWith('none: ')
    ? `set by cdk-airflow-ecs and no option changes it (${setBy.slice('none: '.length)}); remove it`
    : `set by cdk-airflow-ecs from ${setBy}; remove it and set ${setBy} instead`;
}

/** The problem with a user setting a variable the library manages, naming the option to use instead. */
export function managedVariableProblem(prop: string, name: string): string | undefined {
  const explanation = managedExplanation(name);
  return explanation && `${prop}.${name} is ${explanation}`;
}

/** What a container needs to reach the Celery broker the way Airflow does. */
export function brokerEnvironment(storage: IAirflowStorage): Record<string, string> {
  return {
    AIRFLOW__CELERY__BROKER_URL_CMD: BROKER_URL_CMD,
    [RUNTIME_ENV.brokerHost]: storage.brokerEndpointAddress,
    [RUNTIME_ENV.brokerPort]: `${PORTS.valkey}`,
  };
}

/** The broker's AUTH token, as an ECS secret. */
export function brokerSecrets(storage: IAirflowStorage): Record<string, ecs.Secret> {
  return { [RUNTIME_ENV.brokerPassword]: ecs.Secret.fromSecretsManager(storage.brokerAuthTokenSecret) };
}

/** What a container needs to reach the metadata database the way Airflow does. */
export function databaseEnvironment(storage: IAirflowStorage): Record<string, string> {
  return {
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD: SQL_ALCHEMY_CONN_CMD,
    [RUNTIME_ENV.dbHost]: storage.databaseEndpointAddress,
    [RUNTIME_ENV.dbPort]: storage.databaseEndpointPort,
    [RUNTIME_ENV.dbName]: storage.databaseName,
  };
}

/** The database credentials, as ECS secrets (fields of the database secret). */
export function databaseSecrets(storage: IAirflowStorage): Record<string, ecs.Secret> {
  return {
    [RUNTIME_ENV.dbUsername]: ecs.Secret.fromSecretsManager(storage.databaseSecret, 'username'),
    [RUNTIME_ENV.dbPassword]: ecs.Secret.fromSecretsManager(storage.databaseSecret, 'password'),
  };
}
