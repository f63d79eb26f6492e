import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';

/**
 * The stateful half of an Airflow deployment, as the components use it: `AirflowStorage`, or
 * storage deployed by another app (`AirflowStorage.fromStorageAttributes`).
 */
export interface IAirflowStorage extends IConstruct {
  /** The VPC of the database, the broker and the Airflow tasks. */
  readonly vpc: ec2.IVpc;
  /** The metadata database's host name. */
  readonly databaseEndpointAddress: string;
  /** The metadata database's port. */
  readonly databaseEndpointPort: string;
  /** The name of the database Airflow uses. */
  readonly databaseName: string;
  /** The database credentials: a secret whose JSON has `username` and `password`. */
  readonly databaseSecret: secretsmanager.ISecret;
  /** Network access to the database, for `connections.allowTo(storage.databaseConnections, ...)`. */
  readonly databaseConnections: ec2.Connections;
  /** The Celery broker's host name. */
  readonly brokerEndpointAddress: string;
  /** Network access to the broker, for `connections.allowTo(storage.brokerConnections, ...)`. */
  readonly brokerConnections: ec2.Connections;
  /** The broker's AUTH token. */
  readonly brokerAuthTokenSecret: secretsmanager.ISecret;
  /** Airflow's Fernet key, which encrypts connections and variables in the database. */
  readonly fernetKeySecret: secretsmanager.ISecret;
  /** The secret that signs the Execution API and REST API tokens (`[api_auth] jwt_secret`). */
  readonly jwtSecret: secretsmanager.ISecret;
  /** The api-server's session and log-server signing key (`[api] secret_key`). */
  readonly apiSecretKeySecret: secretsmanager.ISecret;
  /** The password of the Airflow admin user. */
  readonly adminPasswordSecret: secretsmanager.ISecret;
  /** The bucket that holds task logs (Airflow remote logging, under `logs/`). */
  readonly logBucket: s3.IBucket;
  /**
   * The database instance class, such as `db.t4g.small` (it sizes the connection warning).
   *
   * @default - unknown
   */
  readonly databaseInstanceClass?: string;
  /**
   * The PostgreSQL major version, such as `17` (checked against the Airflow release).
   *
   * @default - unknown
   */
  readonly databaseEngineMajorVersion?: string;
  /**
   * The database instance's identifier (the `DBInstanceIdentifier` of its CloudWatch metrics).
   *
   * @default - unknown: no database alarms or dashboard widgets
   */
  readonly databaseInstanceIdentifier?: string;
  /**
   * The broker's cache node ids (the `CacheClusterId` of its CloudWatch metrics), such as
   * `['airflow-broker-001', 'airflow-broker-002']`.
   *
   * @default - unknown: no broker alarms or dashboard widgets
   */
  readonly brokerCacheNodeIds?: string[];
}

/**
 * Storage deployed elsewhere (by another app or stack, or by hand): what the components need of it.
 */
export interface AirflowStorageAttributes {
  /** The VPC of the database and the broker; the Airflow tasks run in it too. */
  readonly vpc: ec2.IVpc;
  /** The metadata database's host name (RDS: the instance's endpoint address). */
  readonly databaseEndpointAddress: string;
  /**
   * The metadata database's port.
   *
   * @default '5432'
   */
  readonly databaseEndpointPort?: string;
  /**
   * The name of the database Airflow uses: letters, digits and underscores.
   *
   * @default 'airflow'
   */
  readonly databaseName?: string;
  /** The database credentials: a secret whose JSON has `username` and `password`. */
  readonly databaseSecret: secretsmanager.ISecret;
  /** The database's security groups; the Airflow tasks are allowed in through them. */
  readonly databaseSecurityGroups: ec2.ISecurityGroup[];
  /** The Celery broker's host name (ElastiCache: the primary endpoint; TLS on 6379 with AUTH). */
  readonly brokerEndpointAddress: string;
  /** The broker's security groups; the scheduler and the workers are allowed in through them. */
  readonly brokerSecurityGroups: ec2.ISecurityGroup[];
  /** The broker's AUTH token. */
  readonly brokerAuthTokenSecret: secretsmanager.ISecret;
  /** Airflow's Fernet key (url-safe base64 of 32 bytes; 43 characters without the padding are fine). */
  readonly fernetKeySecret: secretsmanager.ISecret;
  /** `[api_auth] jwt_secret`, the same in every component. */
  readonly jwtSecret: secretsmanager.ISecret;
  /** `[api] secret_key`, the same in every component. */
  readonly apiSecretKeySecret: secretsmanager.ISecret;
  /** The password of the Airflow admin user the migration creates. */
  readonly adminPasswordSecret: secretsmanager.ISecret;
  /** The bucket for task logs (under `logs/`). */
  readonly logBucket: s3.IBucket;
  /**
   * The database instance class, such as `db.t4g.small`.
   *
   * @default - unknown: no warning about the number of database connections
   */
  readonly databaseInstanceClass?: string;
  /**
   * The PostgreSQL major version, such as `17`.
   *
   * @default - unknown: not checked against the Airflow release
   */
  readonly databaseEngineMajorVersion?: string;
  /**
   * The database instance's identifier, for its alarms and dashboard widgets.
   *
   * @default - unknown: no database alarms or dashboard widgets
   */
  readonly databaseInstanceIdentifier?: string;
  /**
   * The broker's cache node ids (ElastiCache: the replication group id followed by `-001`,
   * `-002`, ...), for its alarms and dashboard widgets.
   *
   * @default - unknown: no broker alarms or dashboard widgets
   */
  readonly brokerCacheNodeIds?: string[];
}
