/**
 * Single sign-on, run for real: the api-server's synthesized command under bash writes the
 * generated webserver_config.py byte for byte and execs the api-server; Python imports the file
 * with the synthesized settings. flask_appbuilder and the FAB provider are not installable from
 * Debian, so two stand-in modules give what the file imports: the AUTH_OAUTH constant and a base
 * security manager whose get_oauth_user_info answers for the providers FAB knows itself.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PYTHON } from './requirements';
import { AirflowOnEcs, SingleSignOn } from '../../src';
import { envOf, taskDefinitions } from '../util';

const stack = new Stack(new App(), 'S');
new AirflowOnEcs(stack, 'Airflow', {
  singleSignOn: SingleSignOn.oidc({
    issuerUrl: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/',
    clientId: 'abc123',
    clientSecret: ecs.Secret.fromSecretsManager(new secretsmanager.Secret(stack, 'ClientSecret')),
    rolesClaim: 'cognito:groups',
    rolesMapping: { 'airflow-admins': 'Admin', 'analysts': 'Viewer' },
    label: 'Sign in with Acme',
  }),
});
const api = taskDefinitions(Template.fromStack(stack))['api-server'].containers.find(c => c.Name === 'api-server')!;
// the container's environment as ECS sets it; the secret as ECS resolves it
const containerEnv: Record<string, string> = { ...envOf(api) as Record<string, string>, CDK_AIRFLOW_SSO_CLIENT_SECRET: 's3cr3t' };

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-sso-'));
  const stub = (module: string, source: string) => {
    const file = path.join(dir, 'stubs', ...module.split('.')) + '.py';
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, source);
  };
  stub('flask_appbuilder.security.manager', 'AUTH_DB = 1\nAUTH_OAUTH = 4\n');
  stub('airflow.providers.fab.auth_manager.security_manager.override', [
    'class FabAirflowSecurityManagerOverride:',
    '    def get_oauth_user_info(self, provider, resp):',
    '        return {"handled_by": "fab", "provider": provider}',
    '',
  ].join('\n'));
  // `airflow` on PATH records how it was started
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'airflow'), '#!/bin/sh\necho "airflow $*" > "$ARGS_LOG"\n', { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the command writes the file to [fab] config_file exactly as synthesized, then execs the api-server', () => {
  expect(api.Command![0]).toBe('bash');
  const configFile = path.join(dir, 'written', 'webserver_config.py');
  const r = spawnSync('/bin/bash', api.Command!.slice(1), {
    encoding: 'utf8',
    env: { ...containerEnv, HOME: dir, AIRFLOW__FAB__CONFIG_FILE: configFile, PATH: `${dir}/bin:/usr/bin:/bin`, ARGS_LOG: path.join(dir, 'args') },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(fs.readFileSync(configFile, 'utf8')).toBe(containerEnv.CDK_AIRFLOW_WEBSERVER_CONFIG);
  expect(fs.readFileSync(path.join(dir, 'args'), 'utf8').trim()).toBe('airflow api-server --port 8080 --proxy-headers');
});

/** Imports the synthesized webserver_config.py with the container's variables and runs `script` after it. */
function python(script: string): any {
  const file = path.join(dir, 'webserver_config.py');
  fs.writeFileSync(file, containerEnv.CDK_AIRFLOW_WEBSERVER_CONFIG);
  const program = [
    'import importlib.util, json',
    `spec = importlib.util.spec_from_file_location("webserver_config", ${JSON.stringify(file)})`,
    'config = importlib.util.module_from_spec(spec)',
    'spec.loader.exec_module(config)',
    script,
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', program], { encoding: 'utf8', env: { ...containerEnv, PYTHONPATH: path.join(dir, 'stubs') } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

test('the file is valid Python that sets OAuth sign-in, registration, the role mapping and the provider', () => {
  const settings = python('print(json.dumps({k: getattr(config, k) for k in ["AUTH_TYPE", "AUTH_USER_REGISTRATION", "AUTH_USER_REGISTRATION_ROLE", '
    + '"AUTH_ROLES_MAPPING", "AUTH_ROLES_SYNC_AT_LOGIN", "OAUTH_PROVIDERS"]} | {"manager": config.SECURITY_MANAGER_CLASS.__name__}))');
  expect(settings).toEqual({
    AUTH_TYPE: 4,
    AUTH_USER_REGISTRATION: true,
    AUTH_USER_REGISTRATION_ROLE: 'Public',
    AUTH_ROLES_MAPPING: { 'airflow-admins': ['Admin'], 'analysts': ['Viewer'] },
    AUTH_ROLES_SYNC_AT_LOGIN: true,
    OAUTH_PROVIDERS: [{
      name: 'oidc',
      label: 'Sign in with Acme',
      icon: 'fa-sign-in',
      token_key: 'access_token',
      remote_app: {
        client_id: 'abc123',
        client_secret: 's3cr3t',
        server_metadata_url: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/openid-configuration',
        client_kwargs: { scope: 'openid email profile' },
      },
    }],
    manager: 'OidcSecurityManager',
  });
});

test('the security manager makes the FAB user from the ID token claims, with the groups of the roles claim as role keys', () => {
  const user = python('print(json.dumps(config.SECURITY_MANAGER_CLASS().get_oauth_user_info("oidc", {"access_token": "x", "userinfo": '
    + '{"sub": "7f3e", "email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace", "cognito:groups": ["airflow-admins", "other"]}})))');
  expect(user).toEqual({ username: 'oidc_7f3e', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', role_keys: ['airflow-admins', 'other'] });
});

test('one group as a string, no groups at all, and another provider (left to FAB)', () => {
  const out = python([
    'sm = config.SECURITY_MANAGER_CLASS()',
    'print(json.dumps([',
    '  sm.get_oauth_user_info("oidc", {"userinfo": {"sub": "1", "cognito:groups": "analysts"}})["role_keys"],',
    '  sm.get_oauth_user_info("oidc", {"userinfo": {"sub": "2"}})["role_keys"],',
    '  sm.get_oauth_user_info("github", {}),',
    ']))',
  ].join('\n'));
  expect(out).toEqual([['analysts'], [], { handled_by: 'fab', provider: 'github' }]);
});

test('a response without ID token claims is refused, not turned into a user', () => {
  const file = path.join(dir, 'webserver_config.py');
  fs.writeFileSync(file, containerEnv.CDK_AIRFLOW_WEBSERVER_CONFIG);
  const r = spawnSync(PYTHON, ['-c', [
    'import importlib.util',
    `spec = importlib.util.spec_from_file_location("c", ${JSON.stringify(file)}); c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c)`,
    'c.SECURITY_MANAGER_CLASS().get_oauth_user_info("oidc", {"access_token": "x"})',
  ].join('\n')], { encoding: 'utf8', env: { ...containerEnv, PYTHONPATH: path.join(dir, 'stubs') } });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("ValueError: the identity provider returned no ID token claims; is the 'openid' scope granted?");
});
