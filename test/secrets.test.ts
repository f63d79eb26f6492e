/**
 * Users' `secrets`, top level and per component: delivered as ECS secrets to every Airflow
 * container that needs them, readable by the execution roles that resolve them, and refused at
 * synth when they are not secrets or clash with `environment`.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { COMPONENTS, secretNamesOf, synthError, taskDefinitions } from './util';
import { AirflowComponent, AirflowOnEcs, AirflowOnEcsProps, AirflowService, AirflowStorage } from '../src';

/** The statements of the policies attached to a role, by the role's logical id. */
function statementsOf(template: Template, roleLogicalId: string): any[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter(p => p.Properties.Roles.some((r: any) => r.Ref === roleLogicalId))
    .flatMap(p => p.Properties.PolicyDocument.Statement);
}

describe('secrets', () => {
  const stack = new Stack(new App(), 'S');
  const dsn = new secretsmanager.Secret(stack, 'SentryDsn');
  const token = new secretsmanager.Secret(stack, 'AcmeToken');
  const param = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Param', { parameterName: '/acme/key' });
  new AirflowOnEcs(stack, 'Airflow', {
    secrets: { AIRFLOW__SENTRY__SENTRY_DSN: ecs.Secret.fromSecretsManager(dsn), ACME_KEY: ecs.Secret.fromSsmParameter(param) },
    workers: { secrets: { ACME_TOKEN: ecs.Secret.fromSecretsManager(token, 'token') } },
  });
  const template = Template.fromStack(stack);
  const tds = taskDefinitions(template);
  const dsnRef = stack.resolve(dsn.secretArn);
  const tokenRef = stack.resolve(token.secretArn);

  test('top-level secrets reach every Airflow container: the components, their migration waits, the migration and db clean', () => {
    const airflowContainers = [...COMPONENTS, 'wait-for-migrations', 'migrate', 'db-clean'];
    let count = 0;
    for (const td of Object.values(tds)) {
      for (const c of td.containers.filter(x => airflowContainers.includes(x.Name))) {
        expect({ container: c.Name, secrets: secretNamesOf(c) }).toEqual({ container: c.Name, secrets: expect.arrayContaining(['AIRFLOW__SENTRY__SENTRY_DSN', 'ACME_KEY']) });
        const valueFrom = c.Secrets!.find(s => s.Name === 'AIRFLOW__SENTRY__SENTRY_DSN')!.ValueFrom;
        expect(valueFrom).toEqual(dsnRef);
        count++;
      }
    }
    // five components and their waits, the migration, db clean
    expect(count).toBe(12);
  });

  test('a component\'s secrets reach only that component\'s containers', () => {
    for (const [name, td] of Object.entries(tds)) {
      for (const c of td.containers.filter(x => [...COMPONENTS, 'wait-for-migrations', 'migrate'].includes(x.Name))) {
        expect(secretNamesOf(c).includes('ACME_TOKEN')).toBe(name === 'celery-worker');
      }
    }
    const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect(JSON.stringify(worker.Secrets!.find(s => s.Name === 'ACME_TOKEN')!.ValueFrom)).toContain(':token::');
  });

  test('each execution role may read the secrets its task gets, and only those', () => {
    for (const [name, td] of Object.entries(tds)) {
      const role = td.properties.ExecutionRoleArn['Fn::GetAtt'][0];
      const reads = statementsOf(template, role)
        .filter(s => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .flatMap(s => [s.Resource].flat());
      const ssmReads = statementsOf(template, role).filter(s => [s.Action].flat().includes('ssm:GetParameters'));
      if (!['api-server', 'scheduler', 'dag-processor', 'triggerer', 'celery-worker', 'migrate', 'db-clean'].includes(name)) continue;
      expect({ name, reads }).toEqual({ name, reads: expect.arrayContaining([dsnRef]) });
      expect(ssmReads.length).toBeGreaterThan(0);
      expect(reads.some(r => JSON.stringify(r) === JSON.stringify(tokenRef))).toBe(name === 'celery-worker');
    }
  });
});

describe('secrets: bad input', () => {
  const secret = (stack: Stack) => ecs.Secret.fromSecretsManager(new secretsmanager.Secret(stack, 'X'));
  const synth = (props: (stack: Stack) => AirflowOnEcsProps) => synthError(stack => new AirflowOnEcs(stack, 'Airflow', props(stack)));

  test.each<[string, (stack: Stack) => AirflowOnEcsProps, RegExp]>([
    ['a string where an ECS secret goes (JavaScript users)', () => ({ secrets: { ACME_TOKEN: 'hunter2' as unknown as ecs.Secret } }),
      /secrets\.ACME_TOKEN is a plain string, not an ECS secret: it would be stored in the template in plain text; store it in Secrets Manager and pass ecs\.Secret\.fromSecretsManager\(secret\)/],
    ['a plain value in a component\'s secrets', () => ({ scheduler: { secrets: { ACME_PORT: 8080 as unknown as ecs.Secret } } }),
      /scheduler\.secrets\.ACME_PORT is a plain number, not an ECS secret/],
    ['a name in both environment and secrets', s => ({ environment: { ACME_TOKEN: 'x' }, secrets: { ACME_TOKEN: secret(s) } }),
      /ACME_TOKEN is in both environment and secrets: the container would get two values; keep it only in secrets/],
    ['a top-level variable a component sets as a secret', s => ({ environment: { ACME_TOKEN: 'x' }, workers: { secrets: { ACME_TOKEN: secret(s) } } }),
      /ACME_TOKEN is in both environment and workers\.secrets: the container would get two values; keep it only in workers\.secrets/],
    ['a variable the library manages', s => ({ secrets: { AIRFLOW__API_AUTH__JWT_SECRET: secret(s) } }),
      /secrets\.AIRFLOW__API_AUTH__JWT_SECRET is set by cdk-airflow-ecs from storage\.jwtSecret; remove it and set storage\.jwtSecret instead/],
    ['a misspelled option', s => ({ secrets: { AIRFLOW__SENTRY__SENTRY_DNS: secret(s) } }),
      /secrets\.AIRFLOW__SENTRY__SENTRY_DNS is not an option of Airflow 3\.3\.2 .*did you mean AIRFLOW__SENTRY__SENTRY_DSN\?/],
  ])('refuses %s', (_name, props, message) => {
    expect(synth(props)).toMatch(message);
  });

  test('never shows the plain value in the message', () => {
    expect(synth(() => ({ secrets: { ACME_TOKEN: 'hunter2' as unknown as ecs.Secret } }))).not.toContain('hunter2');
  });

  test('an AirflowService on its own refuses a plain value too, at synth and not with a TypeError', () => {
    const message = synthError(stack => {
      const storage = new AirflowStorage(stack, 'Storage');
      const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: storage.vpc });
      new AirflowService(stack, 'Scheduler', { cluster, storage, component: AirflowComponent.SCHEDULER, secrets: { ACME: 'x' as unknown as ecs.Secret } });
    });
    expect(message).toMatch(/\[S\/Scheduler\] scheduler\.secrets\.ACME is a plain string, not an ECS secret/);
  });
});
