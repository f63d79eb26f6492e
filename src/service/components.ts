import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowComponent } from '../common/airflow-component';
import type { AirflowVersion } from '../common/airflow-version';
import { dagProcessorHealthCheck } from '../private/airflow-releases';
import { DEFAULTS, PORTS } from '../private/defaults';

/** What the library needs to know about each component (DESIGN §2). */
export interface ComponentSpec {
  /** The `AirflowOnEcs` prop that configures it, for error messages. */
  readonly prop: string;
  /** Arguments to the image's entrypoint. */
  readonly command: string[];
  /** Container health check. */
  readonly healthCheck: ecs.HealthCheck;
  /** Ports the container listens on, with names for Service Connect. */
  readonly ports: { name: string; port: number }[];
  /**
   * Reads DAG files in Airflow 3.1: the dag-processor parses them, workers run tasks from them,
   * the triggerer imports triggers from them. The scheduler and the api-server use the
   * serialized DAGs in the database.
   */
  readonly readsDagFiles: boolean;
  /** Needs the Celery broker (sends or receives Celery messages). */
  readonly usesBroker: boolean;
  /** Environment only this component needs. */
  readonly environment: Record<string, string>;
  /** Default sizes. */
  readonly defaults: { readonly cpu: number; readonly memoryLimitMiB: number; readonly desiredCount?: number };
}

/**
 * The Airflow CLI takes 10–20 s just to import; probes that call it need long timeouts and
 * a long start period (apache/airflow #19001, #20644: probes that killed healthy schedulers).
 * Fargate caps the start period at 300 s.
 */
const SLOW_CLI_CHECK = {
  interval: Duration.seconds(60),
  timeout: Duration.seconds(45),
  retries: 5,
  startPeriod: Duration.seconds(300),
};

/**
 * The api-server and the scheduler answer HTTP once started; at the default 0.5 vCPU their start
 * (the Airflow import, then uvicorn's workers) takes minutes when the host is busy, so they get
 * Fargate's longest start period too.
 */
const HTTP_CHECK = {
  interval: Duration.seconds(30),
  timeout: Duration.seconds(10),
  retries: 5,
  startPeriod: Duration.seconds(300),
};

export function componentSpec(component: AirflowComponent, version: AirflowVersion): ComponentSpec {
  switch (component.name) {
    case AirflowComponent.API_SERVER.name:
      return {
        readsDagFiles: false,
        prop: 'apiServer',
        command: ['api-server', '--port', `${PORTS.apiServer}`, '--proxy-headers'],
        healthCheck: {
          command: ['CMD-SHELL', `curl --fail --silent --show-error --max-time 8 http://localhost:${PORTS.apiServer}/api/v2/version > /dev/null`],
          ...HTTP_CHECK,
        },
        ports: [{ name: 'api', port: PORTS.apiServer }],
        usesBroker: false,
        environment: {
          // uvicorn trusts X-Forwarded-Proto/For only from these addresses. Only the load
          // balancer and Airflow's own tasks can reach the api-server (security groups), and the
          // load balancer's addresses change, so trust every peer that can connect at all.
          FORWARDED_ALLOW_IPS: '*',
          // The FAB login pages (a Flask app inside the api-server) build redirects from the
          // forwarded scheme and host too.
          AIRFLOW__FAB__ENABLE_PROXY_FIX: 'True',
        },
        defaults: DEFAULTS.apiServer,
      };
    case AirflowComponent.SCHEDULER.name:
      return {
        readsDagFiles: false,
        prop: 'scheduler',
        command: ['scheduler'],
        healthCheck: {
          command: ['CMD-SHELL', `curl --fail --silent --show-error --max-time 8 http://localhost:${PORTS.schedulerHealth}/health > /dev/null`],
          ...HTTP_CHECK,
        },
        ports: [],
        usesBroker: true,
        environment: {
          AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: 'True',
          AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT: `${PORTS.schedulerHealth}`,
        },
        defaults: DEFAULTS.scheduler,
      };
    case AirflowComponent.DAG_PROCESSOR.name: {
      const check = dagProcessorHealthCheck(version);
      return {
        readsDagFiles: true,
        prop: 'dagProcessor',
        command: ['dag-processor'],
        healthCheck: { command: check.command, ...SLOW_CLI_CHECK },
        ports: [],
        usesBroker: false,
        environment: check.environment,
        defaults: DEFAULTS.dagProcessor,
      };
    }
    case AirflowComponent.TRIGGERER.name:
      return {
        readsDagFiles: true,
        prop: 'triggerer',
        command: ['triggerer'],
        healthCheck: {
          command: ['CMD-SHELL', 'airflow jobs check --job-type TriggererJob --local --limit 1'],
          ...SLOW_CLI_CHECK,
        },
        ports: [{ name: 'triggerer-logs', port: PORTS.triggererLogs }],
        usesBroker: false,
        environment: {
          AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: `${PORTS.triggererLogs}`,
        },
        defaults: DEFAULTS.triggerer,
      };
    case AirflowComponent.CELERY_WORKER.name:
      return {
        readsDagFiles: true,
        prop: 'workers',
        command: ['celery', 'worker'],
        healthCheck: {
          // `$(hostname)`, not `$HOSTNAME`: the check runs in /bin/sh (dash), which does not set it.
          command: ['CMD-SHELL', 'celery --app airflow.providers.celery.executors.celery_executor.app inspect ping -d "celery@$(hostname)" --timeout 20'],
          ...SLOW_CLI_CHECK,
        },
        ports: [{ name: 'worker-logs', port: PORTS.workerLogs }],
        usesBroker: true,
        environment: {
          // dumb-init forwards SIGTERM to the worker only, so Celery finishes running tasks
          // (warm shutdown) within the stop timeout instead of killing them.
          DUMB_INIT_SETSID: '0',
          AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: `${PORTS.workerLogs}`,
        },
        defaults: DEFAULTS.workers,
      };
    default:
      throw new Error(`unknown Airflow component '${component.name}'`);
  }
}
