/**
 * Commands that run inside the Airflow containers. They are executed for real against
 * PostgreSQL, Redis and Python's `cryptography` in test/runtime/, so change them only there-with.
 *
 * Why `_CMD`: Airflow reads `AIRFLOW__{SECTION}__{KEY}_CMD` for its sensitive options and uses the
 * command's standard output as the value. That lets us keep the password, the Fernet key and the
 * AUTH token as separate ECS secrets (never in the template, never in a plain environment
 * variable) and assemble the URLs inside the container, percent-encoding user name, password and
 * database name so that any password works (docs/pitfalls.md, #30 and #31). Unlike plain
 * environment values, `_CMD` output is not `$VAR`-expanded, so a `$` in a password stays a `$`.
 *
 * Airflow runs a `_CMD` with `shlex.split(command)` and `subprocess.Popen`, without a shell, and
 * uses its standard output as is: not stripped, so the commands print no trailing newline
 * (apache/airflow #21657). Each command is `python3 -c "<code>"`, where the code holds no `"`,
 * `$`, `` ` `` or `\`, so it also means the same when a person pastes it into bash.
 */

/** Environment variables the commands read; set as ECS secrets or plain environment. */
export const RUNTIME_ENV = {
  dbHost: 'CDK_AIRFLOW_DB_HOST',
  dbPort: 'CDK_AIRFLOW_DB_PORT',
  dbName: 'CDK_AIRFLOW_DB_NAME',
  dbUsername: 'CDK_AIRFLOW_DB_USERNAME',
  dbPassword: 'CDK_AIRFLOW_DB_PASSWORD',
  brokerHost: 'CDK_AIRFLOW_BROKER_HOST',
  brokerPort: 'CDK_AIRFLOW_BROKER_PORT',
  brokerPassword: 'CDK_AIRFLOW_BROKER_PASSWORD',
  fernetKey: 'CDK_AIRFLOW_FERNET_KEY',
} as const;

function pythonCommand(code: string): string {
  if (/["$`\\]/.test(code)) {
    throw new Error(`internal error: runtime command code must not contain " $ \` or \\: ${code}`);
  }
  return `python3 -c "${code}"`;
}

/**
 * `quote(value, safe='')` and not `quote_plus`: SQLAlchemy, kombu and redis-py decode the user
 * name and password of a URL with `unquote`, which turns `%20` back into a space but leaves `+`
 * as a plus sign. The database name is not encoded: SQLAlchemy before 2.1 (every Airflow 3.1-3.3 image) does not
 * decode it, so `AirflowStorage` only accepts names of letters, digits and underscores.
 */
const ENCODE = "import os,urllib.parse as u;e=os.environ;q=lambda k:u.quote(e[k],safe='');";

function dbUrl(scheme: string, query: string): string {
  return pythonCommand(
    ENCODE
    + `print('${scheme}://'+q('${RUNTIME_ENV.dbUsername}')+':'+q('${RUNTIME_ENV.dbPassword}')`
    + `+'@'+e['${RUNTIME_ENV.dbHost}']+':'+e['${RUNTIME_ENV.dbPort}']+'/'+e['${RUNTIME_ENV.dbName}']+'${query}',end='')`,
  );
}

/** `database.sql_alchemy_conn`: psycopg2 over TLS (`sslmode=require`). */
export const SQL_ALCHEMY_CONN_CMD = dbUrl('postgresql+psycopg2', '?sslmode=require');

/**
 * `database.sql_alchemy_conn_async`: asyncpg spells TLS `ssl=require`; left unset, Airflow derives
 * it from the sync URL, keeps `sslmode` and asyncpg rejects it.
 */
export const SQL_ALCHEMY_CONN_ASYNC_CMD = dbUrl('postgresql+asyncpg', '?ssl=require');

/** `celery.result_backend`: Celery's SQLAlchemy backend on the metadata database. */
export const RESULT_BACKEND_CMD = dbUrl('db+postgresql+psycopg2', '?sslmode=require');

/**
 * `celery.broker_url`: Valkey over TLS with the AUTH token. Without `ssl_cert_reqs=required`
 * kombu connects over TLS but skips certificate verification.
 */
export const BROKER_URL_CMD = pythonCommand(
  ENCODE
  + `print('rediss://:'+q('${RUNTIME_ENV.brokerPassword}')+'@'+e['${RUNTIME_ENV.brokerHost}']+':'+e['${RUNTIME_ENV.brokerPort}']+'/0?ssl_cert_reqs=required',end='')`,
);

/**
 * `core.fernet_key`: each comma-separated key padded with `=` to a multiple of four characters.
 * Secrets Manager cannot generate the trailing `=` of a 32-byte url-safe base64 key, so the
 * generated secret is 43 letters and digits; a full key (or a list of keys, for rotation) that
 * a user stores passes through unchanged.
 */
export const FERNET_KEY_CMD = pythonCommand(
  `import os;print(','.join(k.strip()+'='*(-len(k.strip())%4) for k in os.environ['${RUNTIME_ENV.fernetKey}'].split(',')),end='')`,
);

/** Environment variables of the migration task's bootstrap script. */
export const BOOTSTRAP_ENV = {
  adminUsername: 'CDK_AIRFLOW_ADMIN_USERNAME',
  adminPassword: 'CDK_AIRFLOW_ADMIN_PASSWORD',
  adminEmail: 'CDK_AIRFLOW_ADMIN_EMAIL',
} as const;
