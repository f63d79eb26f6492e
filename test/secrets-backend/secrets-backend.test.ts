/**
 * The secrets backend: Airflow's [secrets] options in every component, the migration and the
 * scheduled db clean, and read access scoped to the prefixes on each of their task roles.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs, AirflowOnEcsProps, SecretsBackend } from '../../src';
import { COMPONENTS, envOf, synthError, taskDefinitions } from '../util';

function deploy(props: AirflowOnEcsProps): { template: Template; stack: Stack } {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', props);
  return { stack, template: Template.fromStack(stack) };
}

/** The statements of the policies attached to a role, by the role's logical id. */
function statementsOf(template: Template, roleLogicalId: string): { policyId: string; statement: any }[] {
  return Object.entries<any>(template.findResources('AWS::IAM::Policy'))
    .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === roleLogicalId))
    .flatMap(([policyId, p]) => p.Properties.PolicyDocument.Statement.map((statement: any) => ({ policyId, statement })));
}

const arn = (service: string, resource: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, resource]],
});

describe('SecretsBackend.secretsManager', () => {
  const { template } = deploy({ secretsBackend: SecretsBackend.secretsManager({ configPrefix: 'airflow/config/' }) });
  const tds = taskDefinitions(template);

  test('sets the backend and its prefixes in every component, the migration and db clean', () => {
    for (const name of [...COMPONENTS, 'migrate', 'db-clean']) {
      const main = tds[name].containers.find(c => c.Name === name)!;
      const env = envOf(main);
      expect(env.AIRFLOW__SECRETS__BACKEND).toBe('airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend');
      expect(JSON.parse(env.AIRFLOW__SECRETS__BACKEND_KWARGS as string)).toEqual({
        connections_prefix: 'airflow/connections', variables_prefix: 'airflow/variables', config_prefix: 'airflow/config',
      });
    }
  });

  test('lets every Airflow task role read secrets under the prefixes only, in a policy the tasks wait for', () => {
    const expected = ['airflow/connections', 'airflow/variables', 'airflow/config'].map(p => arn('secretsmanager', `:secret:${p}/*`));
    const starters = ['AWS::ECS::Service', 'Custom::AirflowDatabaseMigration', 'AWS::Scheduler::Schedule'];
    for (const name of [...COMPONENTS, 'migrate', 'db-clean']) {
      const role = tds[name].properties.TaskRoleArn['Fn::GetAtt'][0];
      const reads = statementsOf(template, role).filter(s => [s.statement.Action].flat().includes('secretsmanager:GetSecretValue'));
      expect({ name, resources: reads.flatMap(s => [s.statement.Resource].flat()) }).toEqual({ name, resources: expected });
      const dependents = Object.values<any>(template.toJSON().Resources)
        .filter(r => starters.includes(r.Type) && (r.DependsOn ?? []).includes(reads[0].policyId));
      expect({ name, dependents: dependents.length }).toEqual({ name, dependents: 1 });
    }
  });
});

describe('SecretsBackend.parameterStore', () => {
  test('defaults: /airflow/connections and /airflow/variables, no config lookups, ssm:GetParameter on those paths', () => {
    const { template } = deploy({ secretsBackend: SecretsBackend.parameterStore() });
    const tds = taskDefinitions(template);
    const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect(envOf(worker).AIRFLOW__SECRETS__BACKEND).toBe('airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend');
    expect(JSON.parse(envOf(worker).AIRFLOW__SECRETS__BACKEND_KWARGS as string))
      .toEqual({ connections_prefix: '/airflow/connections', variables_prefix: '/airflow/variables', config_prefix: null });
    const role = tds['celery-worker'].properties.TaskRoleArn['Fn::GetAtt'][0];
    const reads = statementsOf(template, role).filter(s => [s.statement.Action].flat().includes('ssm:GetParameter'));
    expect(reads.flatMap(s => [s.statement.Resource].flat())).toEqual([arn('ssm', ':parameter/airflow/connections/*'), arn('ssm', ':parameter/airflow/variables/*')]);
  });

  test('without a secrets backend, no [secrets] option and no read policy', () => {
    const { template } = deploy({});
    const worker = taskDefinitions(template)['celery-worker'].containers[0];
    expect(envOf(worker).AIRFLOW__SECRETS__BACKEND).toBeUndefined();
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toMatch(/secretsmanager:GetSecretValue"[^\]]*:secret:airflow/);
  });
});

describe('SecretsBackend: bad input', () => {
  test.each<[string, () => SecretsBackend, RegExp]>([
    ['a wildcard in a prefix', () => SecretsBackend.secretsManager({ connectionsPrefix: 'airflow/*' }),
      /SecretsBackend\.secretsManager: connectionsPrefix 'airflow\/\*' is not a name prefix; .*\(no wildcards\), such as 'airflow\/connections'/],
    ['an empty prefix', () => SecretsBackend.parameterStore({ variablesPrefix: '/' }), /SecretsBackend\.parameterStore: variablesPrefix '\/' is not a name prefix/],
    ['a character Parameter Store does not allow', () => SecretsBackend.parameterStore({ configPrefix: '/airflow@config' }), /configPrefix '\/airflow@config' is not a name prefix/],
  ])('refuses %s', (_name, make, message) => {
    expect(make).toThrow(message);
  });

  test('the backend options in environment fail synth, naming secretsBackend', () => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', { environment: { AIRFLOW__SECRETS__BACKEND: 'x' } })))
      .toMatch(/environment\.AIRFLOW__SECRETS__BACKEND is set by cdk-airflow-ecs from secretsBackend; remove it and set secretsBackend instead/);
  });
});
