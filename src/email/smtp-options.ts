import * as ecs from 'aws-cdk-lib/aws-ecs';

/**
 * How the connection to the SMTP server is encrypted.
 */
export enum SmtpEncryption {
  /** Plain SMTP upgraded with STARTTLS (port 587): what Amazon SES and most providers offer. */
  STARTTLS = 'STARTTLS',
  /** TLS from the first byte, SMTPS (port 465). */
  TLS = 'TLS',
  /** No encryption: credentials and mail cross the network in plain text. Only for a relay inside your VPC. */
  NONE = 'NONE',
}

/**
 * Email from Airflow (task failure and retry emails, `EmailOperator`) through an SMTP server:
 * Amazon SES's SMTP endpoint (`Smtp.sesHost(region)`) or any other.
 */
export interface SmtpOptions {
  /** The SMTP server's host name, for example `Smtp.sesHost('eu-west-1')`. */
  readonly host: string;

  /**
   * The SMTP server's port.
   *
   * @default 587 (465 with `SmtpEncryption.TLS`, 25 with `SmtpEncryption.NONE`)
   */
  readonly port?: number;

  /**
   * How the connection is encrypted.
   *
   * @default SmtpEncryption.STARTTLS
   */
  readonly encryption?: SmtpEncryption;

  /**
   * The sender of Airflow's emails, `airflow@example.com` or `Airflow <airflow@example.com>`. With
   * Amazon SES it must be a verified identity.
   */
  readonly fromAddress: string;

  /**
   * The SMTP user name and password, as an ECS secret holding Airflow's `smtp_default` connection
   * in JSON: `{"conn_type": "smtp", "login": "<user>", "password": "<password>"}` (Airflow 3 reads
   * SMTP credentials from that connection, not from the [smtp] section). It reaches every component
   * as `AIRFLOW_CONN_SMTP_DEFAULT`; the execution roles may read it.
   *
   * @default - no authentication (a relay that accepts mail from the VPC); required for Amazon SES
   */
  readonly credentials?: ecs.Secret;
}

/**
 * Helpers for `SmtpOptions`.
 */
export class Smtp {
  /**
   * The SMTP endpoint of Amazon SES in a region: `email-smtp.<region>.amazonaws.com`.
   *
   * @param region the SES region, such as `eu-west-1` or `Stack.of(this).region`
   */
  public static sesHost(region: string): string {
    return `email-smtp.${region}.amazonaws.com`;
  }

  private constructor() {}
}
