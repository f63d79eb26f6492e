/**
 * Single sign-on: the api-server gets the generated webserver_config.py (written by its command
 * before it starts), the settings as variables and the client secret as an ECS secret; nothing
 * else changes; bad settings fail synth with the fix.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AirflowOnEcs, OidcSingleSignOnOptions, SingleSignOn } from '../../src';
import { WEBSERVER_CONFIG } from '../../src/sso/webserver-config';
import { COMPONENTS, envOf, secretNamesOf, synthError, taskDefinitions } from '../util';

function deploy(options: (stack: Stack) => OidcSingleSignOnOptions) {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', { singleSignOn: SingleSignOn.oidc(options(stack)) });
  return { stack, tds: taskDefinitions(Template.fromStack(stack)) };
}

const okta = (stack: Stack): OidcSingleSignOnOptions => ({
  issuerUrl: 'https://acme.okta.com/oauth2/default',
  clientId: '0oa1b2c3d4',
  clientSecret: ecs.Secret.fromSecretsManager(new secretsmanager.Secret(stack, 'ClientSecret')),
  rolesMapping: { 'airflow-admins': 'Admin', 'data-engineers': 'User', 'analysts': 'Viewer' },
});

describe('SingleSignOn.oidc', () => {
  const { stack, tds } = deploy(okta);
  const api = tds['api-server'].containers.find(c => c.Name === 'api-server')!;

  test('the api-server writes the generated webserver_config.py to [fab] config_file, then execs the api-server as before', () => {
    const env = envOf(api);
    expect(env.AIRFLOW__FAB__CONFIG_FILE).toBe('/tmp/cdk-airflow-ecs/webserver_config.py');
    expect(env.CDK_AIRFLOW_WEBSERVER_CONFIG).toBe(WEBSERVER_CONFIG);
    expect(api.Command).toEqual(['bash', '-c', [
      'set -euo pipefail',
      'mkdir -p "$(dirname "$AIRFLOW__FAB__CONFIG_FILE")"',
      'printf \'%s\' "$CDK_AIRFLOW_WEBSERVER_CONFIG" > "$AIRFLOW__FAB__CONFIG_FILE"',
      'exec airflow api-server --port 8080 --proxy-headers',
    ].join('\n')]);
  });

  test('the provider, the client id, the claim, the mapping and the defaults reach the api-server as variables', () => {
    expect(envOf(api)).toEqual(expect.objectContaining({
      CDK_AIRFLOW_SSO_ISSUER: 'https://acme.okta.com/oauth2/default',
      CDK_AIRFLOW_SSO_CLIENT_ID: '0oa1b2c3d4',
      CDK_AIRFLOW_SSO_SCOPES: 'openid email profile',
      CDK_AIRFLOW_SSO_ROLES_CLAIM: 'groups',
      CDK_AIRFLOW_SSO_DEFAULT_ROLE: 'Public',
      CDK_AIRFLOW_SSO_LABEL: 'Single sign-on',
    }));
    expect(JSON.parse(envOf(api).CDK_AIRFLOW_SSO_ROLES_MAPPING as string)).toEqual({ 'airflow-admins': 'Admin', 'data-engineers': 'User', 'analysts': 'Viewer' });
  });

  test('the client secret is an ECS secret of the api-server task only (and its wait-for-migrations), never a value in the template', () => {
    const secretRef = stack.resolve((stack.node.findChild('ClientSecret') as secretsmanager.Secret).secretArn);
    expect(api.Secrets!.find(s => s.Name === 'CDK_AIRFLOW_SSO_CLIENT_SECRET')!.ValueFrom).toEqual(secretRef);
    for (const [name, td] of Object.entries(tds)) {
      for (const c of td.containers) {
        expect({ name, c: c.Name, has: secretNamesOf(c).includes('CDK_AIRFLOW_SSO_CLIENT_SECRET') }).toEqual({ name, c: c.Name, has: name === 'api-server' });
      }
    }
  });

  test('the other components keep their commands and get none of the settings', () => {
    const plain = new Stack(new App(), 'S');
    new AirflowOnEcs(plain, 'Airflow');
    const without = taskDefinitions(Template.fromStack(plain));
    for (const name of [...COMPONENTS, 'migrate', 'db-clean'].filter(n => n !== 'api-server')) {
      const main = tds[name].containers.find(c => c.Name === name)!;
      expect(Object.keys(envOf(main)).filter(k => k.startsWith('CDK_AIRFLOW_SSO') || k === 'AIRFLOW__FAB__CONFIG_FILE')).toEqual([]);
      expect({ name, command: main.Command }).toEqual({ name, command: without[name].containers.find(c => c.Name === name)!.Command });
    }
  });

  test('Cognito: a token issuer and client id, the cognito:groups claim, another default role', () => {
    const { tds: cognito } = deploy(s => ({
      ...okta(s),
      issuerUrl: `https://cognito-idp.${s.region}.amazonaws.com/eu-west-1_AbC`,
      rolesClaim: 'cognito:groups',
      defaultRole: 'Viewer',
    }));
    const env = envOf(cognito['api-server'].containers.find(c => c.Name === 'api-server')!);
    expect(env.CDK_AIRFLOW_SSO_ISSUER).toEqual({ 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/eu-west-1_AbC']] });
    expect(env.CDK_AIRFLOW_SSO_ROLES_CLAIM).toBe('cognito:groups');
    expect(env.CDK_AIRFLOW_SSO_DEFAULT_ROLE).toBe('Viewer');
  });
});

describe('SingleSignOn.oidc: bad input', () => {
  const secret = (s: Stack) => ecs.Secret.fromSecretsManager(new secretsmanager.Secret(s, 'X'));
  const synth = (options: (s: Stack) => Partial<OidcSingleSignOnOptions>) =>
    synthError(s => new AirflowOnEcs(s, 'Airflow', { singleSignOn: SingleSignOn.oidc({ ...okta(s), ...options(s) } as OidcSingleSignOnOptions) }));

  test.each<[string, (s: Stack) => Partial<OidcSingleSignOnOptions>, RegExp]>([
    ['a role Airflow does not have', () => ({ rolesMapping: { 'airflow-admins': 'admin' } }),
      /singleSignOn \(SingleSignOn\.oidc\): rolesMapping\['airflow-admins'\] \('admin'\) is not one of Airflow's built-in roles Admin, Op, User, Viewer, Public; use one of them \(did you mean 'Admin'\?\)/],
    ['an empty mapping', () => ({ rolesMapping: {} }), /rolesMapping is empty: no one would get a role; map your identity provider's groups to Airflow roles/],
    ['a missing mapping (JavaScript users)', () => ({ rolesMapping: undefined }), /rolesMapping is missing/],
    ['an issuer without https', () => ({ issuerUrl: 'acme.okta.com' }), /issuerUrl \('acme\.okta\.com'\) must be the provider's https:\/\/ issuer URL/],
    ['a missing issuer', () => ({ issuerUrl: undefined }), /issuerUrl \(missing\) must be the provider's https:\/\/ issuer URL/],
    ['a missing client id', () => ({ clientId: undefined }), /clientId is missing; pass the client \(application\) id/],
    ['a plain client secret', () => ({ clientSecret: 'hunter2' as unknown as ecs.Secret }),
      /clientSecret is a plain string, not an ECS secret; store the client secret in Secrets Manager and pass ecs\.Secret\.fromSecretsManager\(secret\)/],
    ['a default role Airflow does not have', () => ({ defaultRole: 'Guest' }), /defaultRole \('Guest'\) is not one of Airflow's built-in roles/],
    ['scopes without openid', () => ({ scopes: ['email'] }), /scopes \(\["email"\]\) lack 'openid'/],
  ])('refuses %s', (_name, options, message) => {
    expect(synth(options)).toMatch(message);
  });

  test('never shows the plain client secret', () => {
    expect(synth(() => ({ clientSecret: 'hunter2' as unknown as ecs.Secret }))).not.toContain('hunter2');
  });

  test('the settings in environment fail synth, naming singleSignOn', () => {
    expect(synthError(s => new AirflowOnEcs(s, 'Airflow', { environment: { AIRFLOW__FAB__CONFIG_FILE: '/x.py' }, singleSignOn: SingleSignOn.oidc({ ...okta(s), clientSecret: secret(s) }) })))
      .toMatch(/AIRFLOW__FAB__CONFIG_FILE is set by cdk-airflow-ecs from singleSignOn/);
  });
});
