import { DEFAULTS } from '../private/defaults';

/** How often the wait-for-migrations container tries the database, 3 s apart (2 minutes). */
const DATABASE_WAIT_ATTEMPTS = 40;

/**
 * The wait-for-migrations init container's script (`bash -c`): wait until the metadata database
 * answers, then until its schema is the image's (`airflow db check-migrations`). The official
 * image's entrypoint checks the database before every command up to Airflow 3.2, but from 3.3 on
 * only before the long-running components, so `db check-migrations` alone would fail at once on a
 * database that is restarting (the local ECS runtime's fault scenario showed it).
 */
export const WAIT_FOR_MIGRATIONS_SCRIPT = [
  'set -euo pipefail',
  `for attempt in $(seq 1 ${DATABASE_WAIT_ATTEMPTS}); do`,
  '  if airflow db check > /dev/null 2>&1; then break; fi',
  `  if [ "$attempt" -eq ${DATABASE_WAIT_ATTEMPTS} ]; then echo "the metadata database did not answer in ${DATABASE_WAIT_ATTEMPTS * 3} s" >&2; exit 1; fi`,
  '  echo "waiting for the metadata database (attempt $attempt)"',
  '  sleep 3',
  'done',
  `exec airflow db check-migrations --migration-wait-timeout ${DEFAULTS.migrationWaitTimeoutSeconds}`,
].join('\n');
