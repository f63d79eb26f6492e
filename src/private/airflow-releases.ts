/**
 * What differs between the Airflow releases the library supports, each difference checked at its
 * source (docs/airflow-releases.md lists them with the files they were read from).
 */
import type { AirflowVersion } from '../common/airflow-version';

/** Python versions of the official image's tags, per minor release. */
const PYTHON_VERSIONS: Record<string, string[]> = {
  3.1: ['3.10', '3.11', '3.12', '3.13'],
  3.2: ['3.10', '3.11', '3.12', '3.13'],
  3.3: ['3.10', '3.11', '3.12', '3.13'],
};

/**
 * Refuses an image tag whose Python is not built, or whose image lacks a provider the library
 * needs: Airflow 3.1's Python 3.13 images ship without the FAB provider (its first release for
 * Python 3.13 came after 3.1.8), and the library's auth manager is FAB's.
 */
export function checkPythonVersion(version: AirflowVersion, python: string, where: string): void {
  const known = PYTHON_VERSIONS[version.minorVersion] ?? PYTHON_VERSIONS['3.3'];
  if (!known.includes(python)) {
    throw new Error(`${where}: Airflow ${version.version} has no official image for Python ${python}; use one of ${known.join(', ')} (or leave pythonVersion unset for the release's default)`);
  }
  if (version.minorVersion === '3.1' && python === '3.13') {
    throw new Error(`${where}: the Airflow ${version.version} images for Python 3.13 lack the FAB provider, and the library's auth manager (FabAuthManager) needs it; `
      + 'use Python 3.12 (the default for 3.1) or Airflow 3.2 or later');
  }
}

/** How old the dag-processor's latest heartbeat may be before its health check fails, in seconds. */
export const DAG_PROCESSOR_HEALTH_THRESHOLD_SECONDS = 120;

/**
 * The dag-processor's health check. `airflow jobs check --job-type DagProcessorJob` compares the
 * job's latest heartbeat with a threshold: in 3.1 that is 2.1 x `[scheduler] job_heartbeat_sec`
 * (10.5 s by default), and the heartbeat the database holds is always one beat old (about 10 s), so
 * under parsing load the check fails and ECS replaces a healthy dag-processor; raising
 * job_heartbeat_sec moves both numbers alike. 3.2 added `[dag_processor] health_check_threshold`.
 * On 3.1 the check reads the job table itself with the same threshold.
 */
export function dagProcessorHealthCheck(version: AirflowVersion): { command: string[]; environment: Record<string, string> } {
  if (version.isAtLeast('3.2.0')) {
    return {
      command: ['CMD-SHELL', 'airflow jobs check --job-type DagProcessorJob --local --limit 1'],
      environment: { AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD: `${DAG_PROCESSOR_HEALTH_THRESHOLD_SECONDS}` },
    };
  }
  return { command: ['CMD', 'python3', '-c', DAG_PROCESSOR_CHECK_3_1], environment: {} };
}

/**
 * The 3.1 dag-processor check: exit 0 when this host's running DagProcessorJob heartbeated within
 * the threshold. Run for real against Airflow 3.1.8 by the local ECS runtime (test/local-ecs).
 */
export const DAG_PROCESSOR_CHECK_3_1 = [
  'import sys',
  'from sqlalchemy import select',
  'from airflow.jobs.job import Job',
  'from airflow.utils import timezone',
  'from airflow.utils.net import get_hostname',
  'from airflow.utils.session import create_session',
  'with create_session() as session:',
  '    beat = session.scalar(select(Job.latest_heartbeat).where(Job.job_type == "DagProcessorJob", Job.state == "running", '
  + 'Job.hostname == get_hostname()).order_by(Job.latest_heartbeat.desc()).limit(1))',
  'age = (timezone.utcnow() - beat).total_seconds() if beat else None',
  `print(f"DagProcessorJob on {get_hostname()}: latest heartbeat {age if age is None else round(age)} s ago (threshold ${DAG_PROCESSOR_HEALTH_THRESHOLD_SECONDS} s)")`,
  `sys.exit(0 if age is not None and age < ${DAG_PROCESSOR_HEALTH_THRESHOLD_SECONDS} else 1)`,
].join('\n');

/** PostgreSQL major versions each minor release supports (its README's "Stable version" table). */
const POSTGRES_VERSIONS: Record<string, number[]> = {
  3.1: [13, 14, 15, 16, 17],
  3.2: [14, 15, 16, 17, 18],
  3.3: [14, 15, 16, 17, 18],
};

/** Refuses a PostgreSQL major version the Airflow release does not support. */
export function checkPostgresVersion(version: AirflowVersion, postgresMajor: string): string | undefined {
  const supported = POSTGRES_VERSIONS[version.minorVersion] ?? POSTGRES_VERSIONS['3.3'];
  const major = Number(postgresMajor.split('.')[0]);
  if (supported.includes(major)) return undefined;
  return `the database runs PostgreSQL ${postgresMajor}, which Airflow ${version.version} does not support (it supports ${supported[0]} to ${supported[supported.length - 1]}); `
    + `set AirflowStorage database.engineVersion to rds.PostgresEngineVersion.VER_${Math.min(Math.max(major, supported[0]), supported[supported.length - 1])} before the first deployment, `
    + 'or upgrade the instance with RDS before changing Airflow';
}
