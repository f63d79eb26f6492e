import * as ecs from 'aws-cdk-lib/aws-ecs';
import { PORTS } from './defaults';
import {
  BROKER_URL_CMD, FERNET_KEY_CMD, RESULT_BACKEND_CMD, RUNTIME_ENV, SQL_ALCHEMY_CONN_ASYNC_CMD, SQL_ALCHEMY_CONN_CMD,
} from './runtime-commands';
import type { AirflowStorage } from '../storage/airflow-storage';

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
  readonly storage: AirflowStorage;
  /** The Execution API URL the workers call. */
  readonly executionApiServerUrl: string;
  /** The URL users reach the api-server at, if known. */
  readonly baseUrl?: string;
}

/**
 * The environment every Airflow container shares. Configuration is through environment
 * variables only: no airflow.cfg (the story's commit #39).
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
    AIRFLOW__CELERY__BROKER_URL_CMD: BROKER_URL_CMD,
    AIRFLOW__CELERY__RESULT_BACKEND_CMD: RESULT_BACKEND_CMD,
    AIRFLOW__CORE__FERNET_KEY_CMD: FERNET_KEY_CMD,
    [RUNTIME_ENV.brokerHost]: storage.brokerEndpointAddress,
    [RUNTIME_ENV.brokerPort]: `${PORTS.valkey}`,

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
export function sharedSecrets(storage: AirflowStorage): Record<string, ecs.Secret> {
  return {
    // Must be identical in every container: unset, each process invents its own and tasks fail
    // with "Invalid auth token: Signature verification failed" (the story's commit #47).
    AIRFLOW__API_AUTH__JWT_SECRET: ecs.Secret.fromSecretsManager(storage.jwtSecret),
    AIRFLOW__API__SECRET_KEY: ecs.Secret.fromSecretsManager(storage.apiSecretKeySecret),
    ...databaseSecrets(storage),
    [RUNTIME_ENV.brokerPassword]: ecs.Secret.fromSecretsManager(storage.brokerAuthTokenSecret),
    [RUNTIME_ENV.fernetKey]: ecs.Secret.fromSecretsManager(storage.fernetKeySecret),
  };
}

/**
 * Environment names a user may not set through `environment`: ours, and the plain variables
 * that would silently win over our `_CMD` variables.
 */
export function managedEnvironmentNames(env: Record<string, string>, secrets: Record<string, unknown>): Set<string> {
  const names = new Set<string>([...Object.keys(env), ...Object.keys(secrets)]);
  for (const name of Object.keys(env)) {
    if (name.endsWith('_CMD')) {
      names.add(name.slice(0, -'_CMD'.length));
      names.add(`${name.slice(0, -'_CMD'.length)}_SECRET`);
    }
  }
  return names;
}

/** What a container needs to reach the metadata database the way Airflow does. */
export function databaseEnvironment(storage: AirflowStorage): Record<string, string> {
  return {
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD: SQL_ALCHEMY_CONN_CMD,
    [RUNTIME_ENV.dbHost]: storage.database.dbInstanceEndpointAddress,
    [RUNTIME_ENV.dbPort]: storage.database.dbInstanceEndpointPort,
    [RUNTIME_ENV.dbName]: storage.databaseName,
  };
}

/** The database credentials, as ECS secrets (fields of the database secret). */
export function databaseSecrets(storage: AirflowStorage): Record<string, ecs.Secret> {
  return {
    [RUNTIME_ENV.dbUsername]: ecs.Secret.fromSecretsManager(storage.databaseSecret, 'username'),
    [RUNTIME_ENV.dbPassword]: ecs.Secret.fromSecretsManager(storage.databaseSecret, 'password'),
  };
}
