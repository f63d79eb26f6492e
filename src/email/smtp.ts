import * as ecs from 'aws-cdk-lib/aws-ecs';
import { SmtpEncryption, SmtpOptions } from './smtp-options';
import { isEcsSecret } from '../private/environment-check';
import { isConcrete, isConcreteString, Problems } from '../private/validation';

/** The connection Airflow 3 reads SMTP credentials from (`[email] email_conn_id`'s default). */
export const SMTP_CONNECTION_VARIABLE = 'AIRFLOW_CONN_SMTP_DEFAULT';

const DEFAULT_PORTS: Record<SmtpEncryption, number> = {
  [SmtpEncryption.STARTTLS]: 587,
  [SmtpEncryption.TLS]: 465,
  [SmtpEncryption.NONE]: 25,
};

const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const ADDRESS = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;
const NAMED_ADDRESS = /^[^<>]*<([^@\s<>]+@[^@\s<>]+\.[^@\s<>]+)>$/;

/**
 * Airflow's [smtp] section and the `smtp_default` connection for `SmtpOptions`: the server from
 * the [smtp] options, the user name and password from the connection (airflow/utils/email.py,
 * `send_mime_email`, in Airflow 3.1–3.3).
 */
export function smtpSettings(options: SmtpOptions): { environment: Record<string, string>; secrets: Record<string, ecs.Secret> } {
  const encryption = options.encryption ?? SmtpEncryption.STARTTLS;
  return {
    environment: {
      AIRFLOW__SMTP__SMTP_HOST: options.host,
      AIRFLOW__SMTP__SMTP_PORT: `${options.port ?? DEFAULT_PORTS[encryption]}`,
      AIRFLOW__SMTP__SMTP_STARTTLS: encryption === SmtpEncryption.STARTTLS ? 'True' : 'False',
      AIRFLOW__SMTP__SMTP_SSL: encryption === SmtpEncryption.TLS ? 'True' : 'False',
      AIRFLOW__SMTP__SMTP_MAIL_FROM: options.fromAddress,
      AIRFLOW__EMAIL__FROM_EMAIL: options.fromAddress,
    },
    secrets: options.credentials && isEcsSecret(options.credentials) ? { [SMTP_CONNECTION_VARIABLE]: options.credentials } : {},
  };
}

export function validateSmtp(problems: Problems, options: SmtpOptions): void {
  const { host, port, fromAddress, credentials } = options;
  if (isConcreteString(host) && (!HOST.test(host) || host.includes('://'))) {
    problems.add(`smtp.host ('${host}') is not a host name; pass the bare name such as 'smtp.example.com' or Smtp.sesHost('eu-west-1') (no scheme, no port)`);
  }
  if (isConcrete(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    problems.add(`smtp.port (${port}) is not a TCP port; use 587 for STARTTLS, 465 for TLS, or omit it`);
  }
  if (isConcreteString(fromAddress) && !ADDRESS.test(fromAddress) && !NAMED_ADDRESS.test(fromAddress)) {
    problems.add(`smtp.fromAddress ('${fromAddress}') is not an email address; pass 'airflow@example.com' or 'Airflow <airflow@example.com>'`);
  }
  if (credentials !== undefined && !isEcsSecret(credentials)) {
    problems.add(`smtp.credentials is a plain ${typeof credentials}, not an ECS secret: it would be stored in the template in plain text; store the smtp_default `
      + 'connection JSON in Secrets Manager and pass ecs.Secret.fromSecretsManager(secret)');
  }
  if (credentials === undefined && isConcreteString(host) && /^email-smtp\.[^.]+\.amazonaws\.com$/.test(host)) {
    problems.add(`smtp.credentials is missing: Amazon SES (${host}) accepts mail only from authenticated senders; create SMTP credentials in SES, store `
      + '{"conn_type": "smtp", "login": "<SMTP user name>", "password": "<SMTP password>"} in Secrets Manager and pass ecs.Secret.fromSecretsManager(secret)');
  }
  if (options.encryption === SmtpEncryption.NONE && credentials !== undefined) {
    problems.add('smtp.encryption is SmtpEncryption.NONE but smtp.credentials is set: the password would cross the network in plain text; use SmtpEncryption.STARTTLS or TLS');
  }
  // for JavaScript users, who can leave out what TypeScript requires
  if (host === undefined) problems.add('smtp.host is missing; pass the SMTP server, such as Smtp.sesHost(\'eu-west-1\')');
  if (fromAddress === undefined) problems.add('smtp.fromAddress is missing; pass the sender of Airflow\'s emails, such as \'airflow@example.com\'');
}
