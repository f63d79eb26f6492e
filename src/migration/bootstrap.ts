import { BOOTSTRAP_ENV } from '../private/runtime-commands';

/**
 * The migration task's script (run by `bash -c` through the image's entrypoint, after its
 * database check): migrate the metadata database, then make sure the admin user exists.
 *
 * Idempotent: when `users create` fails, the script succeeds only if the admin user is in the
 * exported user list, so a deployment that runs it again passes and a real failure (no FAB auth
 * manager, database error) fails the deployment. An existing admin's password is not changed.
 */
export const BOOTSTRAP_SCRIPT = [
  'set -euo pipefail',
  'airflow db migrate',
  `if ! airflow users create --username "$${BOOTSTRAP_ENV.adminUsername}" --password "$${BOOTSTRAP_ENV.adminPassword}" --email "$${BOOTSTRAP_ENV.adminEmail}" --firstname Airflow --lastname Admin --role Admin; then`,
  '  users_file="$(mktemp)"',
  '  airflow users export "$users_file"',
  `  python3 -c "import json,os,sys;u=os.environ['${BOOTSTRAP_ENV.adminUsername}'];sys.exit(0 if any(x.get('username')==u for x in json.load(open(sys.argv[1]))) else 1)" "$users_file"`,
  `  echo "admin user $${BOOTSTRAP_ENV.adminUsername} already exists; password left unchanged"`,
  'fi',
].join('\n');
