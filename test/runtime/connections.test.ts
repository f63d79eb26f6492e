/**
 * The URLs and keys the containers end up with, built by the exact `_CMD` commands in the
 * synthesized task definitions, evaluated the way Airflow evaluates them and used against a real
 * PostgreSQL (TLS, scram-sha-256), a real redis-server (TLS, requirepass) and Python's
 * cryptography — with passwords that contain every printable ASCII punctuation character, spaces
 * and non-ASCII letters.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs } from '../../src';
import { envOf, taskDefinitions } from '../util';
import { runCheck, startPostgres, startRedisTls, RunningPostgres, RunningRedis } from './services';

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const NASTY_PASSWORD = `p${PUNCTUATION} with spaces äÖß Łódź 漢字 end`;
const ROLES = [
  { name: 'airflow', password: NASTY_PASSWORD, database: 'airflow' },
  { name: 'air flow+user@corp:/x', password: `${NASTY_PASSWORD} %41%2B+`, database: 'airflow_meta' },
];
const BROKER_PASSWORD = `b${PUNCTUATION} spaced äÖß`;

// The real container definition: the scheduler's environment and secret names, from a template.
const template = (() => {
  const stack = new Stack(new App(), 'Airflow');
  new AirflowOnEcs(stack, 'Airflow');
  return Template.fromStack(stack);
})();
const scheduler = taskDefinitions(template).scheduler.containers.find(c => c.Name === 'scheduler')!;

interface Inputs {
  dbHost?: string; dbPort: number; role: typeof ROLES[number]; redisPort: number; fernetKey: string; caFile?: string; brokerPassword?: string;
}

/** The environment ECS gives the container, with CloudFormation values replaced by the local services'. */
function containerEnvironment(i: Inputs): Record<string, string> {
  const deployTimeValues: Record<string, string> = {
    CDK_AIRFLOW_DB_HOST: '127.0.0.1',
    CDK_AIRFLOW_DB_PORT: `${i.dbPort}`,
    CDK_AIRFLOW_BROKER_HOST: 'localhost',
    AIRFLOW__API__BASE_URL: 'http://airflow.internal.example',
    AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: 's3://bucket/logs',
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(envOf(scheduler))) {
    if (typeof value === 'string') {
      env[name] = value;
    } else if (name in deployTimeValues) {
      env[name] = deployTimeValues[name];
    } else {
      throw new Error(`environment ${name} is resolved at deploy time (${JSON.stringify(value)}); give it a local value in this test`);
    }
  }
  env.CDK_AIRFLOW_DB_PORT = `${i.dbPort}`;
  if (i.dbHost !== undefined) env.CDK_AIRFLOW_DB_HOST = i.dbHost;
  // a database name of an existing instance (`database.databaseName` with `existingInstance`)
  env.CDK_AIRFLOW_DB_NAME = i.role.database;
  env.CDK_AIRFLOW_BROKER_PORT = `${i.redisPort}`;
  const secretValues: Record<string, string> = {
    CDK_AIRFLOW_DB_USERNAME: i.role.name,
    CDK_AIRFLOW_DB_PASSWORD: i.role.password,
    CDK_AIRFLOW_BROKER_PASSWORD: i.brokerPassword ?? BROKER_PASSWORD,
    CDK_AIRFLOW_FERNET_KEY: i.fernetKey,
    AIRFLOW__API_AUTH__JWT_SECRET: 'jwt',
    AIRFLOW__API__SECRET_KEY: 'key',
  };
  for (const s of scheduler.Secrets ?? []) {
    if (!(s.Name in secretValues)) throw new Error(`secret ${s.Name} has no test value`);
    env[s.Name] = secretValues[s.Name];
  }
  return { ...env, PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...(i.caFile ? { SSL_CERT_FILE: i.caFile } : {}) };
}

/** A Fernet secret shaped the way the template asks Secrets Manager to generate it. */
function generatedFernetSecret(): string {
  const secrets = template.findResources('AWS::SecretsManager::Secret');
  const spec = Object.values<any>(secrets).find(s => /Fernet/.test(s.Properties.Description)).Properties.GenerateSecretString;
  expect(spec.ExcludePunctuation).toBe(true);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: spec.PasswordLength }, () => alphabet[crypto.randomInt(alphabet.length)]).join('');
}

const standardFernetKey = () => crypto.randomBytes(32).toString('base64url') + '=';

let pg: RunningPostgres;
let redis: RunningRedis;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(ROLES), startRedisTls(BROKER_PASSWORD)]);
});

afterAll(() => {
  pg?.stop();
  redis?.stop();
});

const inputs = (role: typeof ROLES[number], extra: Partial<Inputs> = {}): Inputs => ({
  dbPort: pg.port, role, redisPort: redis.port, fernetKey: standardFernetKey(), caFile: redis.caFile, ...extra,
});

describe.each(ROLES.map(r => [r.name, r] as const))('metadata database as role %j', (_name, role) => {
  // pitfall #30: Special characters in the DB password broke startup
  test('sql_alchemy_conn connects with psycopg2 over TLS as the right user', () => {
    const r = runCheck('db-sync', containerEnvironment(inputs(role)));
    expect(r).toEqual({ ok: true, url_scheme: 'postgresql+psycopg2', user: role.name, database: role.database, ssl: true });
  });

  // pitfall #31: Database connection string format (driver, TLS, async URL)
  test('sql_alchemy_conn_async connects with asyncpg over TLS as the right user', () => {
    const r = runCheck('db-async', containerEnvironment(inputs(role)));
    expect(r).toEqual({ ok: true, url_scheme: 'postgresql+asyncpg', user: role.name, database: role.database, ssl: true });
  });

  test('celery result_backend stores and reads a task result in the database', () => {
    const r = runCheck('result-backend', containerEnvironment(inputs(role)));
    expect(r).toEqual({ ok: true, url_scheme: 'db+postgresql+psycopg2', status: 'SUCCESS', result: { answer: 42 } });
  });
});

test('a wrong database password is refused (the server really checks it)', () => {
  const r = runCheck('db-sync', containerEnvironment(inputs({ ...ROLES[0], password: `${NASTY_PASSWORD}x` })));
  expect(r.ok).toBe(false);
  expect(r.error).toMatch(/password authentication failed/);
});

// pitfall #23: the story's "bad IPv6 URL" came from an address literal in the URL; the RDS endpoint
// is a host name, which the URL carries as it is, and the client resolves (IPv4 or IPv6)
test('pitfall #23: a host name goes into the database URL as it is, no address literal or brackets, and connects', () => {
  const env = containerEnvironment(inputs(ROLES[0], { dbHost: 'localhost' }));
  expect(scheduler.Environment!.find(e => e.Name === 'CDK_AIRFLOW_DB_HOST')!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Database/), 'Endpoint.Address'] });
  for (const name of ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD', 'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC_CMD']) {
    // the image's entrypoint runs the _CMD with bash; Airflow reads its stdout
    const url = spawnSync('/bin/bash', ['-c', env[name]], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(url.stderr).toBe('');
    expect(url.stdout).toMatch(new RegExp(`@localhost:${pg.port}/airflow\\?`));
    expect(url.stdout).not.toMatch(/[[\]]|@\d+\.\d+\.\d+\.\d+|::/);
  }
  expect(runCheck('db-sync', env)).toEqual({ ok: true, url_scheme: 'postgresql+psycopg2', user: ROLES[0].name, database: 'airflow', ssl: true });
});

describe('broker', () => {
  test('broker_url reaches redis over TLS with the AUTH password and carries a message', () => {
    const r = runCheck('broker', containerEnvironment(inputs(ROLES[0])));
    expect(r).toEqual({ ok: true, url_scheme: 'rediss', body: { task: 'hello' } });
  });

  test('broker_url verifies the server certificate (an untrusted CA is refused)', () => {
    const r = runCheck('broker', containerEnvironment(inputs(ROLES[0], { caFile: undefined })));
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/CERTIFICATE_VERIFY_FAILED|certificate verify failed/i);
  });

  test('a wrong AUTH password is refused', () => {
    const r = runCheck('broker', containerEnvironment(inputs(ROLES[0], { brokerPassword: 'wrong' })));
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/invalid|WRONGPASS|password|Authentication/i);
  });
});

describe('Fernet key', () => {
  // pitfall #52: Fernet key generation (and rotation)
  test('keys generated the way the template asks Secrets Manager for are accepted by cryptography\'s Fernet', () => {
    for (let i = 0; i < 25; i++) {
      const secret = generatedFernetSecret();
      const r = runCheck('fernet', containerEnvironment(inputs(ROLES[0], { fernetKey: secret })));
      expect(r).toEqual({ ok: true, value: `${secret}=`, roundtrip: 'connection password', keys: 1 });
    }
  });

  test('a standard key stored by a user passes through unchanged', () => {
    const key = standardFernetKey();
    const r = runCheck('fernet', containerEnvironment(inputs(ROLES[0], { fernetKey: key })));
    expect(r).toEqual({ ok: true, value: key, roundtrip: 'connection password', keys: 1 });
  });

  test('a comma-separated list for rotation (new key first) keeps every key', () => {
    const [newKey, oldGenerated] = [standardFernetKey(), generatedFernetSecret()];
    const r = runCheck('fernet', containerEnvironment(inputs(ROLES[0], { fernetKey: `${newKey},${oldGenerated}` })));
    expect(r).toEqual({ ok: true, value: `${newKey},${oldGenerated}=`, roundtrip: 'connection password', keys: 2 });
  });
});
