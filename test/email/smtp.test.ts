/**
 * Email through SMTP: Airflow's [smtp] options in every component, the smtp_default connection
 * (where Airflow 3 takes the SMTP user name and password from) as an ECS secret, and bad input
 * refused at synth.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AirflowOnEcs, AirflowOnEcsProps, Smtp, SmtpEncryption, SmtpOptions } from '../../src';
import { COMPONENTS, envOf, secretNamesOf, synthError, taskDefinitions } from '../util';

function synth(smtp: (stack: Stack) => SmtpOptions, more: AirflowOnEcsProps = {}) {
  const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1', account: '123456789012' } });
  new AirflowOnEcs(stack, 'Airflow', { ...more, smtp: smtp(stack) });
  return { stack, tds: taskDefinitions(Template.fromStack(stack)) };
}

describe('smtp', () => {
  test('Amazon SES: the [smtp] options in every component, the connection as an ECS secret', () => {
    let secretArn: unknown;
    const { stack, tds } = synth(s => {
      const secret = new secretsmanager.Secret(s, 'SmtpCredentials');
      secretArn = secret.secretArn;
      return { host: Smtp.sesHost(Stack.of(s).region), fromAddress: 'Airflow <airflow@example.com>', credentials: ecs.Secret.fromSecretsManager(secret) };
    });
    for (const name of COMPONENTS) {
      const main = tds[name].containers.find(c => c.Name === name)!;
      expect(envOf(main)).toEqual(expect.objectContaining({
        AIRFLOW__SMTP__SMTP_HOST: 'email-smtp.eu-west-1.amazonaws.com',
        AIRFLOW__SMTP__SMTP_PORT: '587',
        AIRFLOW__SMTP__SMTP_STARTTLS: 'True',
        AIRFLOW__SMTP__SMTP_SSL: 'False',
        AIRFLOW__SMTP__SMTP_MAIL_FROM: 'Airflow <airflow@example.com>',
        AIRFLOW__EMAIL__FROM_EMAIL: 'Airflow <airflow@example.com>',
      }));
      const connection = main.Secrets!.find(x => x.Name === 'AIRFLOW_CONN_SMTP_DEFAULT')!;
      expect(connection.ValueFrom).toEqual(stack.resolve(secretArn));
    }
    // the migration sends no email
    expect(secretNamesOf(tds.migrate.containers[0])).not.toContain('AIRFLOW_CONN_SMTP_DEFAULT');
  });

  test('TLS from the first byte on 465, and a relay without credentials', () => {
    const { tds } = synth(() => ({ host: 'smtp.internal.example.com', fromAddress: 'airflow@example.com', encryption: SmtpEncryption.TLS }));
    const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect(envOf(worker)).toEqual(expect.objectContaining({ AIRFLOW__SMTP__SMTP_PORT: '465', AIRFLOW__SMTP__SMTP_STARTTLS: 'False', AIRFLOW__SMTP__SMTP_SSL: 'True' }));
    expect(secretNamesOf(worker)).not.toContain('AIRFLOW_CONN_SMTP_DEFAULT');
  });

  test('without smtp, no [smtp] option is set', () => {
    const stack = new Stack(new App(), 'S');
    new AirflowOnEcs(stack, 'Airflow');
    const worker = taskDefinitions(Template.fromStack(stack))['celery-worker'].containers[0];
    expect(Object.keys(envOf(worker)).filter(n => /SMTP|EMAIL/.test(n))).toEqual([]);
  });

  const secret = (s: Stack) => ecs.Secret.fromSecretsManager(new secretsmanager.Secret(s, 'X'));
  test.each<[string, (s: Stack) => AirflowOnEcsProps, RegExp]>([
    ['a URL as host', s => ({ smtp: { host: 'smtp://mail.example.com:587', fromAddress: 'a@example.com', credentials: secret(s) } }),
      /smtp\.host \('smtp:\/\/mail\.example\.com:587'\) is not a host name; pass the bare name/],
    ['a port out of range', () => ({ smtp: { host: 'mail.example.com', port: 70000, fromAddress: 'a@example.com' } }), /smtp\.port \(70000\) is not a TCP port/],
    ['a sender that is not an address', () => ({ smtp: { host: 'mail.example.com', fromAddress: 'airflow' } }), /smtp\.fromAddress \('airflow'\) is not an email address/],
    ['SES without credentials', () => ({ smtp: { host: Smtp.sesHost('eu-west-1'), fromAddress: 'a@example.com' } }),
      /smtp\.credentials is missing: Amazon SES \(email-smtp\.eu-west-1\.amazonaws\.com\) accepts mail only from authenticated senders/],
    ['credentials as a plain string', () => ({ smtp: { host: 'mail.example.com', fromAddress: 'a@example.com', credentials: 'user:pw' as unknown as ecs.Secret } }),
      /smtp\.credentials is a plain string, not an ECS secret/],
    ['a password over an unencrypted connection', s => ({ smtp: { host: 'mail.example.com', fromAddress: 'a@example.com', encryption: SmtpEncryption.NONE, credentials: secret(s) } }),
      /smtp\.encryption is SmtpEncryption\.NONE but smtp\.credentials is set/],
    ['an [smtp] option in environment as well', () => ({ smtp: { host: 'mail.example.com', fromAddress: 'a@example.com' }, environment: { AIRFLOW__SMTP__SMTP_HOST: 'x' } }),
      /environment\.AIRFLOW__SMTP__SMTP_HOST is set by cdk-airflow-ecs from smtp\.host; remove it and set smtp\.host instead/],
    ['the smtp_default connection in secrets', s => ({ workers: { secrets: { AIRFLOW_CONN_SMTP_DEFAULT: secret(s) } } }),
      /workers\.secrets\.AIRFLOW_CONN_SMTP_DEFAULT is set by cdk-airflow-ecs from smtp\.credentials/],
  ])('refuses %s', (_name, props, message) => {
    expect(synthError(stack => new AirflowOnEcs(stack, 'Airflow', props(stack)))).toMatch(message);
  });
});
