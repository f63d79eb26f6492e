import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * Options for the Airflow metadata database (RDS PostgreSQL).
 */
export interface AirflowDatabaseOptions {
  /**
   * The instance class.
   *
   * @default - db.t4g.small (2 vCPU burstable, 2 GiB; about 200 connections)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The PostgreSQL engine version. Airflow 3.1 supports PostgreSQL 13 to 17, Airflow 3.2 and 3.3
   * support 14 to 18 (`AirflowOnEcs` refuses other combinations).
   *
   * @default - PostgreSQL 17, minor versions upgraded by RDS
   */
  readonly engineVersion?: rds.PostgresEngineVersion;

  /**
   * Run a standby in a second Availability Zone, so the database survives the loss of one AZ
   * (about twice the instance cost).
   *
   * @default false
   */
  readonly multiAz?: boolean;

  /**
   * Initial storage in GiB (gp3, encrypted). Storage grows automatically up to
   * `maxAllocatedStorageGiB`.
   *
   * @default 20
   */
  readonly allocatedStorageGiB?: number;

  /**
   * Upper limit for storage autoscaling, in GiB.
   *
   * @default 100
   */
  readonly maxAllocatedStorageGiB?: number;

  /**
   * How long automated backups are kept; at least 7 days.
   *
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * What happens to the database when it is removed from the stack or the stack is deleted.
   * `RemovalPolicy.DESTROY` loses every DAG run, connection and variable.
   *
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Refuse deletion of the instance until this is turned off.
   *
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * The name of the database Airflow uses.
   *
   * @default 'airflow'
   */
  readonly databaseName?: string;

  /**
   * A customer-managed KMS key for the database storage, for organisations that require one
   * (AWS Control Tower CT.RDS.PR.30). Choose it before the first deployment: changing the key of
   * an existing database replaces it.
   *
   * @default - the AWS-managed RDS key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Use an existing database instance instead of creating one. Requires `existingSecret`.
   * Airflow's tasks are allowed in on the instance's port through its security groups.
   *
   * @default - a new instance is created
   */
  readonly existingInstance?: rds.IDatabaseInstance;

  /**
   * The credentials for `existingInstance`: a Secrets Manager secret whose JSON has `username`
   * and `password` fields (the format RDS and CDK use). Any characters are fine in the password;
   * the containers URL-encode it.
   *
   * @default - required with `existingInstance`; generated for a new instance
   */
  readonly existingSecret?: secretsmanager.ISecret;
}

/**
 * Options for the Celery broker (ElastiCache for Valkey, one shard, TLS and AUTH).
 */
export interface AirflowBrokerOptions {
  /**
   * The cache node type.
   *
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;

  /**
   * The Valkey engine version.
   *
   * @default '8.0'
   */
  readonly engineVersion?: string;

  /**
   * Read replicas in other Availability Zones (0–5). With one or more, automatic failover and
   * Multi-AZ are turned on.
   *
   * @default 0
   */
  readonly replicas?: number;
}

/**
 * Properties of an `AirflowStorage`.
 */
export interface AirflowStorageProps {
  /**
   * The VPC for the database, the broker and the Airflow tasks.
   *
   * @default - a new VPC across 2 Availability Zones with public, private (egress through one
   * NAT instance, see `natProvider`) and isolated subnets, and an S3 gateway endpoint
   */
  readonly vpc?: ec2.IVpc;

  /**
   * How the private subnets of the VPC this construct creates reach the internet and AWS's public
   * endpoints (one NAT for the VPC). Pass `ec2.NatProvider.gateway()` for a managed NAT gateway:
   * about $33 a month against $3, with no instance to fail and bandwidth to 100 Gbps; the
   * default is the cheaper choice for Airflow's egress (API calls and logs; the image layers
   * come from S3 through the gateway endpoint). Only with the VPC this construct creates.
   *
   * @default - one NAT instance: a t4g.nano running Amazon Linux 2023, in the first public subnet,
   * reachable from the private subnets only, with IMDSv2 and an encrypted root volume
   */
  readonly natProvider?: ec2.NatProvider;

  /**
   * The Availability Zones of the VPC this construct creates, at least 2 of the stack's region,
   * such as `['eu-west-1a', 'eu-west-1b']`. Set them when the stack has an explicit account and
   * region: the CDK otherwise looks the region's zones up at synth, which needs AWS credentials
   * or a committed `cdk.context.json`. With them, synth needs neither.
   *
   * @default - the first 2 zones of the stack's region: `Fn::GetAZs` in a stack without an
   * explicit account and region; in one with them, looked up by the CDK CLI (synth warns)
   */
  readonly availabilityZones?: string[];

  /**
   * Subnets for the database and the broker.
   *
   * @default - the VPC's isolated subnets if it has any, else its private subnets
   */
  readonly dataSubnets?: ec2.SubnetSelection;

  /**
   * The metadata database.
   *
   * @default - see `AirflowDatabaseOptions`
   */
  readonly database?: AirflowDatabaseOptions;

  /**
   * The Celery broker.
   *
   * @default - see `AirflowBrokerOptions`
   */
  readonly broker?: AirflowBrokerOptions;

  /**
   * What happens to the log bucket when it is removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logBucketRemovalPolicy?: RemovalPolicy;

  /**
   * What happens to the generated secrets (Fernet key, JWT secret, API secret key, admin password,
   * broker AUTH token, database credentials) when they are removed from the stack. Keep them
   * (`RETAIN`) wherever the database is kept: a database restored from a snapshot is unreadable
   * without its credentials, and its connections and variables without the Fernet key.
   * `RemovalPolicy.SNAPSHOT` is not available for secrets.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly secretsRemovalPolicy?: RemovalPolicy;

  /**
   * The path, from the stack, of the `AirflowOnEcs` that created this storage inline before it
   * was moved out, such as `'Airflow'` for `new AirflowOnEcs(stack, 'Airflow')`. This storage's
   * resources then keep the logical ids they had inside it, so the move (in the same stack) keeps
   * the database, broker, bucket, secrets and VPC (README, "Moving inline storage out").
   *
   * @default - logical ids from this construct's own path
   */
  readonly inlineStorageOf?: string;
}
