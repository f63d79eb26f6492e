import { Annotations, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EndpointParameterNames, writeEndpointParameters } from './cross-stack';
import { AirflowNatInstanceProvider } from './egress';
import { generatedSecret } from './generated-secret';
import { AirflowStorageAttributes, IAirflowStorage } from './i-airflow-storage';
import { airflowInSameStack, inlinePath, inlineStorageStillThere, inlineUniqueId, keepInlineLogicalIds } from './inline-ids';
import { AirflowStorageProps } from './storage-options';
import { DEFAULTS, PORTS } from '../private/defaults';
import { acknowledgeNag, NAG } from '../private/nag';
import { checkCount, isConcrete, isConcreteString, Problems } from '../private/validation';

/**
 * The stateful half of an Airflow deployment: VPC, RDS PostgreSQL metadata database,
 * ElastiCache Valkey broker, S3 bucket for task logs and the secrets every component shares.
 *
 * It has no reference to the services that use it, so it can live in its own stack and the
 * services' stack can be destroyed and recreated without touching it.
 */
export class AirflowStorage extends Construct implements IAirflowStorage {
  /**
   * Storage deployed elsewhere — by another app, another stack or by hand — for `AirflowOnEcs`,
   * `AirflowService` and `AirflowDatabaseMigration`.
   */
  public static fromStorageAttributes(scope: Construct, id: string, attrs: AirflowStorageAttributes): IAirflowStorage {
    return new ImportedAirflowStorage(scope, id, attrs);
  }

  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The subnets of the database and the broker. */
  public readonly dataSubnets: ec2.SubnetSelection;
  /** The metadata database instance. */
  public readonly database: rds.IDatabaseInstance;
  /** The database's credentials (`username`, `password`). */
  public readonly databaseSecret: secretsmanager.ISecret;
  /** The name of the database Airflow uses. */
  public readonly databaseName: string;
  /** The database instance class, such as `db.t4g.small`, when this construct created the instance. */
  public readonly databaseInstanceClass?: string;
  /** The PostgreSQL major version, such as `17`, when this construct created the instance. */
  public readonly databaseEngineMajorVersion?: string;
  /** The broker: an ElastiCache for Valkey replication group. */
  public readonly broker: elasticache.CfnReplicationGroup;
  /** The broker's security group. */
  public readonly brokerSecurityGroup: ec2.ISecurityGroup;
  /** Network access to the broker, for `connections.allowTo(storage.brokerConnections, ...)`. */
  public readonly brokerConnections: ec2.Connections;
  /** The broker's AUTH token. */
  public readonly brokerAuthTokenSecret: secretsmanager.ISecret;
  /** Airflow's Fernet key, which encrypts connections and variables in the database. */
  public readonly fernetKeySecret: secretsmanager.ISecret;
  /** The secret that signs the Execution API and REST API tokens (`[api_auth] jwt_secret`). */
  public readonly jwtSecret: secretsmanager.ISecret;
  /** The api-server's session and log-server signing key (`[api] secret_key`). */
  public readonly apiSecretKeySecret: secretsmanager.ISecret;
  /** The password of the Airflow admin user. */
  public readonly adminPasswordSecret: secretsmanager.ISecret;
  /** The bucket that holds task logs (Airflow remote logging). */
  public readonly logBucket: s3.IBucket;
  /**
   * The SSM parameters that carry the values a replacement changes to other stacks.
   * @internal
   */
  public readonly _endpointParameters?: EndpointParameterNames;

  constructor(scope: Construct, id: string, props: AirflowStorageProps = {}) {
    super(scope, id);
    const db = props.database ?? {};
    const broker = props.broker ?? {};
    const problems = new Problems(this);
    validate(problems, this, props);
    const inline = props.inlineStorageOf !== undefined ? inlinePath(props.inlineStorageOf) : undefined;
    if (inline?.problem) problems.add(inline.problem);
    const airflowPath = inline?.components;
    if (airflowPath) {
      keepInlineLogicalIds(this, airflowPath);
      this.node.addValidation({
        validate: () => {
          if (!airflowInSameStack(this, airflowPath)) {
            return [`inlineStorageOf ('${props.inlineStorageOf}'): stack ${Stack.of(this).node.path} has no construct at that path; logical ids are kept only within `
              + 'one stack: create this storage in the stack of that AirflowOnEcs (README, "Moving inline storage out"), or remove inlineStorageOf for a new storage'];
          }
          const still = inlineStorageStillThere(this, airflowPath);
          return still ? [`inlineStorageOf ('${props.inlineStorageOf}'): ${still.node.path} still exists, so both storages would have the same logical ids; `
            + 'pass this storage to that AirflowOnEcs (storage: ...) so it creates none'] : [];
        },
      });
    }
    const secretsRemoval = props.secretsRemovalPolicy ?? RemovalPolicy[DEFAULTS.secretsRemovalPolicy];

    this.vpc = props.vpc ?? withoutZoneLookup(this, validZones(this, props.availabilityZones), zones => new ec2.Vpc(this, 'Vpc', {
      ...(zones ? { availabilityZones: [...zones] } : { maxAzs: DEFAULTS.vpcMaxAzs }),
      natGateways: DEFAULTS.vpcNatGateways,
      natGatewayProvider: props.natProvider ?? new AirflowNatInstanceProvider(),
      subnetConfiguration: [
        // only the NAT and the load balancer live here, with their own addresses
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // free: ECR's image layers, the log bucket and the flow logs reach S3 without the NAT
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    }));
    this.dataSubnets = props.dataSubnets ?? defaultDataSubnets(this.vpc);

    // --- shared secrets: generated once by Secrets Manager, only ever referenced by ARN ---
    this.fernetKeySecret = generatedSecret(this, 'FernetKey', 'Airflow Fernet key (43 url-safe base64 characters; the containers add the "=" padding)', 43, secretsRemoval);
    this.jwtSecret = generatedSecret(this, 'JwtSecret', 'Airflow [api_auth] jwt_secret, shared by every component', 64, secretsRemoval);
    this.apiSecretKeySecret = generatedSecret(this, 'ApiSecretKey', 'Airflow [api] secret_key, shared by every component', 64, secretsRemoval);
    this.adminPasswordSecret = generatedSecret(this, 'AdminPassword', 'Password of the Airflow admin user', 32, secretsRemoval);
    // ElastiCache AUTH tokens allow only a few punctuation characters: letters and digits only.
    this.brokerAuthTokenSecret = generatedSecret(this, 'BrokerAuthToken', 'AUTH token of the Airflow Celery broker (Valkey)', 64, secretsRemoval);

    // --- metadata database ---
    this.databaseName = db.databaseName ?? DEFAULTS.databaseName;
    if (db.existingInstance) {
      this.database = db.existingInstance;
      // without the secret synth fails (validation); a placeholder lets the rest be checked too
      this.databaseSecret = db.existingSecret ?? secretsmanager.Secret.fromSecretNameV2(this, 'MissingExistingSecret', 'missing');
    } else {
      const instanceType = db.instanceType ?? new ec2.InstanceType(DEFAULTS.databaseInstanceType.replace(/^db\./, ''));
      this.databaseInstanceClass = `db.${instanceType.toString()}`;
      const engineVersion = db.engineVersion
        ?? rds.PostgresEngineVersion.of(DEFAULTS.databaseEngineMajorVersion, DEFAULTS.databaseEngineMajorVersion);
      this.databaseEngineMajorVersion = engineVersion.postgresMajorVersion;
      const secret = new rds.DatabaseSecret(this, 'DatabaseSecret', { username: DEFAULTS.databaseUsername });
      secret.applyRemovalPolicy(secretsRemoval);
      // The database answers connections and never opens any: no egress.
      const databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
        vpc: this.vpc,
        description: 'Airflow metadata database (PostgreSQL); ingress only from the Airflow tasks',
        allowAllOutbound: false,
      });
      const instance: rds.DatabaseInstance = new rds.DatabaseInstance(this, 'Database', {
        engine: rds.DatabaseInstanceEngine.postgres({ version: engineVersion }),
        instanceType,
        vpc: this.vpc,
        vpcSubnets: this.dataSubnets,
        securityGroups: [databaseSecurityGroup],
        credentials: rds.Credentials.fromSecret(secret),
        databaseName: this.databaseName,
        multiAz: db.multiAz ?? DEFAULTS.databaseMultiAz,
        allocatedStorage: db.allocatedStorageGiB ?? DEFAULTS.databaseAllocatedStorageGiB,
        maxAllocatedStorage: db.maxAllocatedStorageGiB ?? DEFAULTS.databaseMaxAllocatedStorageGiB,
        storageType: rds.StorageType.GP3,
        storageEncrypted: true,
        storageEncryptionKey: db.encryptionKey,
        backupRetention: db.backupRetention ?? Duration.days(DEFAULTS.databaseBackupRetentionDays),
        deletionProtection: db.deletionProtection ?? DEFAULTS.databaseDeletionProtection,
        removalPolicy: db.removalPolicy ?? RemovalPolicy[DEFAULTS.databaseRemovalPolicy],
        autoMinorVersionUpgrade: true,
        publiclyAccessible: false,
        enablePerformanceInsights: true,
        monitoringInterval: Duration.seconds(60),
        // Airflow logs in with the generated password; IAM authentication is available for people.
        iamAuthentication: true,
        cloudwatchLogsExports: ['postgresql', 'upgrade'],
        copyTagsToSnapshot: true,
        parameters: {
          // Refuse unencrypted connections; the containers connect with sslmode=require.
          'rds.force_ssl': '1',
        },
      });
      this.database = instance;
      this.databaseSecret = instance.secret!;
      acknowledgeNag(instance, [NAG.databasePort, ...(db.multiAz ? [] : [NAG.databaseMultiAz])]);
      const monitoringRole = instance.node.tryFindChild('MonitoringRole');
      if (monitoringRole) acknowledgeNag(monitoringRole, [NAG.databaseMonitoringRole]);
      acknowledgeNag(secret, [NAG.secretRotation]);
    }
    // Props whose change on a deployed stack replaces a stateful resource (test/security/upgrades.test.ts).
    if (db.databaseName !== undefined && db.existingInstance === undefined) {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:Storage.databaseNameReplaces',
        `database.databaseName ('${db.databaseName}') is set: changing it after the first deployment replaces the database instance and loses its data; choose it once, then acknowledge this warning`);
    }
    if (broker.replicas !== undefined) {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:Storage.brokerReplicasReplaces',
        `broker.replicas (${broker.replicas}) is set: changing it after the first deployment replaces the broker (queued Celery messages are lost; Airflow re-queues their tasks); change it while no task is queued, then acknowledge this warning`);
    }
    if (db.removalPolicy === RemovalPolicy.DESTROY) {
      Annotations.of(this).addWarningV2('cdk-airflow-ecs:Storage.databaseDestroy',
        'database.removalPolicy is RemovalPolicy.DESTROY: deleting the stack deletes the metadata database and every DAG run, connection and variable in it without a snapshot; use RemovalPolicy.SNAPSHOT (the default) for anything you would miss');
    }

    // --- Celery broker: Valkey replication group with one shard (not Serverless: Celery cannot
    // use cluster mode), TLS required, AUTH token ---
    const brokerSg = new ec2.SecurityGroup(this, 'BrokerSecurityGroup', {
      vpc: this.vpc,
      description: 'Airflow Celery broker (Valkey); ingress only from the Airflow tasks that use it',
      allowAllOutbound: false,
    });
    this.brokerSecurityGroup = brokerSg;
    this.brokerConnections = new ec2.Connections({
      securityGroups: [brokerSg],
      defaultPort: ec2.Port.tcp(PORTS.valkey),
    });
    const subnetIds = this.vpc.selectSubnets(this.dataSubnets).subnetIds;
    const brokerSubnets = new elasticache.CfnSubnetGroup(this, 'BrokerSubnets', {
      description: 'Airflow Celery broker subnets',
      subnetIds,
    });
    const replicas = broker.replicas ?? DEFAULTS.brokerReplicas;
    this.broker = new elasticache.CfnReplicationGroup(this, 'Broker', {
      replicationGroupDescription: 'Airflow Celery broker',
      engine: 'valkey',
      engineVersion: broker.engineVersion ?? DEFAULTS.brokerEngineVersion,
      cacheNodeType: broker.nodeType ?? DEFAULTS.brokerNodeType,
      numNodeGroups: 1,
      replicasPerNodeGroup: replicas,
      automaticFailoverEnabled: replicas > 0,
      multiAzEnabled: replicas > 0,
      port: PORTS.valkey,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // A dynamic reference: CloudFormation resolves it at deploy time; the template holds only the ARN.
      authToken: this.brokerAuthTokenSecret.secretValue.unsafeUnwrap(),
      cacheSubnetGroupName: brokerSubnets.ref,
      securityGroupIds: [brokerSg.securityGroupId],
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: 1,
    });
    // The broker holds only in-flight Celery messages (Airflow re-queues lost ones): nothing to keep.
    this.broker.applyRemovalPolicy(RemovalPolicy.DESTROY);

    if (replicas === 0) acknowledgeNag(this.broker, [NAG.brokerMultiAz]);

    // --- what changes when the database or the broker is replaced, for stacks that use this one ---
    this._endpointParameters = writeEndpointParameters(this, airflowPath && inlineUniqueId(this, airflowPath), {
      database: db.existingInstance ? undefined : {
        address: this.database.dbInstanceEndpointAddress,
        identifier: this.database.instanceIdentifier,
        // the engine's default, which the instance keeps when it is replaced
        port: `${PORTS.postgres}`,
      },
      broker: {
        address: this.broker.attrPrimaryEndPointAddress,
        replicationGroupId: this.broker.ref,
        nodes: isConcrete(replicas) ? replicas + 1 : 1,
      },
    });

    // --- task logs: workers are ephemeral (and on Spot), so logs go to S3 ---
    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.logBucketRemovalPolicy ?? RemovalPolicy[DEFAULTS.logBucketRemovalPolicy],
      autoDeleteObjects: false,
      versioned: true,
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { prefix: FLOW_LOG_PREFIX, expiration: Duration.days(90) },
      ],
    });
    acknowledgeNag(this.logBucket, [NAG.logBucketAccessLogs]);
    if (!props.vpc) {
      // Accepted and rejected traffic of the VPC we created, next to the task logs, kept 90 days.
      (this.vpc as ec2.Vpc).addFlowLog('FlowLogs', {
        destination: ec2.FlowLogDestination.toS3(this.logBucket, FLOW_LOG_PREFIX),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
      // The delivery permissions, in the template (left to AWS, they would be added outside
      // CloudFormation and lost at the next change of the bucket policy).
      const stack = Stack.of(this);
      const fromThisAccount = {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'logs', resource: '*' }) },
      };
      this.logBucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AWSLogDeliveryWrite',
        principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.logBucket.arnForObjects(`${FLOW_LOG_PREFIX}AWSLogs/${stack.account}/*`)],
        conditions: { ...fromThisAccount, StringEquals: { ...fromThisAccount.StringEquals, 's3:x-amz-acl': 'bucket-owner-full-control' } },
      }));
      this.logBucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AWSLogDeliveryAclCheck',
        principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:GetBucketAcl', 's3:ListBucket'],
        resources: [this.logBucket.bucketArn],
        conditions: fromThisAccount,
      }));
    }
  }

  /** The metadata database's host name. */
  public get databaseEndpointAddress(): string {
    return this.database.dbInstanceEndpointAddress;
  }

  /** The metadata database's port. */
  public get databaseEndpointPort(): string {
    return this.database.dbInstanceEndpointPort;
  }

  /** Network access to the database, for `connections.allowTo(storage.databaseConnections, ...)`. */
  public get databaseConnections(): ec2.Connections {
    return this.database.connections;
  }

  /** The broker's hostname (primary endpoint). */
  public get brokerEndpointAddress(): string {
    return this.broker.attrPrimaryEndPointAddress;
  }

  /** The database instance's identifier. */
  public get databaseInstanceIdentifier(): string | undefined {
    return this.database.instanceIdentifier;
  }

  /** The broker's cache node ids: the primary and each replica (`<replication group>-001`, ...). */
  public get brokerCacheNodeIds(): string[] | undefined {
    const replicas = this.broker.replicasPerNodeGroup;
    // with a token for the replica count, the primary alone (the node Celery uses)
    const nodes = typeof replicas === 'number' && !Token.isUnresolved(replicas) ? replicas + 1 : 1;
    return Array.from({ length: nodes }, (_, i) => `${this.broker.ref}-${String(i + 1).padStart(3, '0')}`);
  }
}

/** Storage deployed elsewhere. */
class ImportedAirflowStorage extends Construct implements IAirflowStorage {
  public readonly vpc: ec2.IVpc;
  public readonly databaseEndpointAddress: string;
  public readonly databaseEndpointPort: string;
  public readonly databaseName: string;
  public readonly databaseSecret: secretsmanager.ISecret;
  public readonly databaseConnections: ec2.Connections;
  public readonly brokerEndpointAddress: string;
  public readonly brokerConnections: ec2.Connections;
  public readonly brokerAuthTokenSecret: secretsmanager.ISecret;
  public readonly fernetKeySecret: secretsmanager.ISecret;
  public readonly jwtSecret: secretsmanager.ISecret;
  public readonly apiSecretKeySecret: secretsmanager.ISecret;
  public readonly adminPasswordSecret: secretsmanager.ISecret;
  public readonly logBucket: s3.IBucket;
  public readonly databaseInstanceClass?: string;
  public readonly databaseEngineMajorVersion?: string;
  public readonly databaseInstanceIdentifier?: string;
  public readonly brokerCacheNodeIds?: string[];

  constructor(scope: Construct, id: string, attrs: AirflowStorageAttributes) {
    super(scope, id);
    const problems = new Problems(this);
    if (attrs.databaseSecurityGroups.length === 0) {
      problems.add('databaseSecurityGroups is empty, so the Airflow tasks cannot be let into the database; pass its security groups, e.g. [ec2.SecurityGroup.fromSecurityGroupId(this, \'Db\', \'sg-...\')]');
    }
    if (attrs.brokerSecurityGroups.length === 0) {
      problems.add('brokerSecurityGroups is empty, so the scheduler and the workers cannot be let into the broker; pass its security groups');
    }
    if (isConcreteString(attrs.databaseName) && !/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(attrs.databaseName)) {
      problems.add(`databaseName ('${attrs.databaseName}') must start with a letter and contain only letters, digits and underscores (the containers put it in a URL unencoded)`);
    }
    this.vpc = attrs.vpc;
    this.databaseEndpointAddress = attrs.databaseEndpointAddress;
    this.databaseEndpointPort = attrs.databaseEndpointPort ?? `${PORTS.postgres}`;
    this.databaseName = attrs.databaseName ?? DEFAULTS.databaseName;
    this.databaseSecret = attrs.databaseSecret;
    this.databaseConnections = new ec2.Connections({
      securityGroups: attrs.databaseSecurityGroups,
      defaultPort: ec2.Port.tcp(Token.isUnresolved(this.databaseEndpointPort) ? PORTS.postgres : Number(this.databaseEndpointPort)),
    });
    this.brokerEndpointAddress = attrs.brokerEndpointAddress;
    this.brokerConnections = new ec2.Connections({ securityGroups: attrs.brokerSecurityGroups, defaultPort: ec2.Port.tcp(PORTS.valkey) });
    this.brokerAuthTokenSecret = attrs.brokerAuthTokenSecret;
    this.fernetKeySecret = attrs.fernetKeySecret;
    this.jwtSecret = attrs.jwtSecret;
    this.apiSecretKeySecret = attrs.apiSecretKeySecret;
    this.adminPasswordSecret = attrs.adminPasswordSecret;
    this.logBucket = attrs.logBucket;
    this.databaseInstanceClass = attrs.databaseInstanceClass;
    this.databaseEngineMajorVersion = attrs.databaseEngineMajorVersion;
    this.databaseInstanceIdentifier = attrs.databaseInstanceIdentifier;
    this.brokerCacheNodeIds = attrs.brokerCacheNodeIds;
  }
}

/**
 * The zones the VPC may use: the given ones when they are valid (validate() reports the others,
 * and the VPC falls back to the default so that the rest can still be checked).
 */
function validZones(scope: Construct, zones: string[] | undefined): string[] | undefined {
  if (zones === undefined || Token.isUnresolved(zones)) return undefined;
  return zoneProblems(Stack.of(scope), zones).length === 0 ? zones : undefined;
}

function zoneProblems(stack: Stack, zones: string[]): string[] {
  const problems: string[] = [];
  const concrete = zones.filter(z => !Token.isUnresolved(z));
  if (zones.length < 2 || new Set(zones).size !== zones.length) {
    problems.push(`availabilityZones (${JSON.stringify(zones)}) must name at least 2 different zones: RDS and ElastiCache need subnets in 2; `
      + `list 2 or more zones of the region, such as ['${Token.isUnresolved(stack.region) ? 'eu-west-1' : stack.region}a', '…b']`);
  }
  const region = stack.region;
  const foreign = Token.isUnresolved(region) ? [] : concrete.filter(z => !(z.startsWith(region) && /^[a-z]$/.test(z.slice(region.length))));
  if (foreign.length > 0) {
    problems.push(`availabilityZones (${JSON.stringify(zones)}) must be zones of the stack's region ${region}, such as '${region}a'; `
      + `${foreign.map(z => `'${z}'`).join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not`);
  }
  return problems;
}

/**
 * Builds the VPC. The CDK's Vpc asks its stack for the region's zones even when it is given its
 * zones (it checks them against the stack's; aws/aws-cdk#21690), and a stack with an explicit
 * account and region answers that with a context lookup, which needs AWS credentials or a
 * committed cdk.context.json (docs/pitfalls.md, #6). With zones given, the stack answers with
 * them while the VPC is built, as the CDK's documented workaround (overriding the stack's
 * `availabilityZones`) would; a stack that already overrides it is left alone.
 */
function withoutZoneLookup(scope: Construct, zones: string[] | undefined, build: (zones: string[] | undefined) => ec2.Vpc): ec2.Vpc {
  const stack = Stack.of(scope);
  const agnostic = Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region);
  if (agnostic) return build(zones);
  if (zones === undefined) {
    const key = `availability-zones:account=${stack.account}:region=${stack.region}`;
    if (scope.node.tryGetContext(key) === undefined) {
      Annotations.of(scope).addWarningV2('cdk-airflow-ecs:availabilityZoneLookup',
        `the stack has an explicit account and region (${stack.account}, ${stack.region}), so the CDK looks the region's Availability Zones up `
        + 'at synth, which needs AWS credentials or a committed cdk.context.json; pass availabilityZones (for example '
        + `['${stack.region}a', '${stack.region}b']) to synthesize without either`);
    }
    return build(undefined);
  }
  if (Object.prototype.hasOwnProperty.call(stack, 'availabilityZones')) return build(zones);
  Object.defineProperty(stack, 'availabilityZones', { value: zones, configurable: true });
  try {
    return build(zones);
  } finally {
    delete (stack as { availabilityZones?: string[] }).availabilityZones;
  }
}

/** The VPC's isolated subnets if it has any, else its private subnets. */
function defaultDataSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return { subnetType: vpc.isolatedSubnets.length > 0 ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS };
}

/** Where VPC flow logs go in the log bucket (task logs are under logs/). */
const FLOW_LOG_PREFIX = 'vpc-flow-logs/';

function validate(problems: Problems, scope: Construct, props: AirflowStorageProps): void {
  const db = props.database ?? {};
  if (props.availabilityZones !== undefined && props.vpc !== undefined) {
    problems.add(`availabilityZones (${JSON.stringify(props.availabilityZones)}) is for the VPC AirflowStorage creates, and vpc is given; remove availabilityZones`);
  } else if (props.availabilityZones !== undefined && !Token.isUnresolved(props.availabilityZones)) {
    zoneProblems(Stack.of(scope), props.availabilityZones).forEach(p => problems.add(p));
  }
  if (props.natProvider !== undefined && props.vpc !== undefined) {
    problems.add('natProvider is for the VPC AirflowStorage creates, and vpc is given (its egress is its own); remove natProvider');
  }
  if (db.existingInstance && !db.existingSecret) {
    problems.add('database.existingInstance is set without database.existingSecret; pass the Secrets Manager secret with the instance\'s `username` and `password`');
  }
  if (db.existingInstance && db.existingInstance.connections.securityGroups.length === 0) {
    problems.add('database.existingInstance has no security groups, so the Airflow tasks cannot be let in; import it with rds.DatabaseInstance.fromDatabaseInstanceAttributes({ ..., securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(...)] })');
  }
  const vpc = props.vpc;
  if (vpc && !Token.isUnresolved(vpc.availabilityZones) && vpc.availabilityZones.every(az => !Token.isUnresolved(az))) {
    const azs = new Set(vpc.selectSubnets(props.dataSubnets ?? defaultDataSubnets(vpc)).availabilityZones.filter(az => !Token.isUnresolved(az)));
    if (azs.size === 1) {
      problems.add(`the data subnets of vpc (${vpc.node.path}) are in 1 Availability Zone; RDS and ElastiCache need subnets in at least 2; pass dataSubnets across 2 or more AZs`);
    }
  }
  if (db.existingSecret && !db.existingInstance) {
    problems.add('database.existingSecret is set without database.existingInstance; the secret is only used for an existing instance (a new instance gets a generated secret), so pass both or neither');
  }
  if (db.existingInstance) {
    const ignored = (['instanceType', 'engineVersion', 'multiAz', 'encryptionKey', 'allocatedStorageGiB', 'maxAllocatedStorageGiB', 'backupRetention', 'removalPolicy', 'deletionProtection'] as const)
      .filter(k => db[k] !== undefined);
    if (ignored.length > 0) {
      problems.add(`database.${ignored.join(', database.')} cannot be combined with database.existingInstance (those settings belong to the existing instance); remove them or let the library create the instance`);
    }
  }
  const backupDays = db.backupRetention && !db.backupRetention.isUnresolved() ? db.backupRetention.toDays({ integral: false }) : undefined;
  if (backupDays !== undefined && backupDays < DEFAULTS.databaseBackupRetentionDays) {
    problems.add(`database.backupRetention (${backupDays} days) is below ${DEFAULTS.databaseBackupRetentionDays} days; keep at least Duration.days(7) so a bad migration or deletion can be undone`);
  }
  if (isConcrete(db.allocatedStorageGiB) && (db.allocatedStorageGiB < 20 || db.allocatedStorageGiB > 65536)) {
    problems.add(`database.allocatedStorageGiB (${db.allocatedStorageGiB}) must be between 20 and 65536 (gp3)`);
  }
  if (isConcrete(db.allocatedStorageGiB) && isConcrete(db.maxAllocatedStorageGiB) && db.maxAllocatedStorageGiB < db.allocatedStorageGiB) {
    problems.add(`database.maxAllocatedStorageGiB (${db.maxAllocatedStorageGiB}) must be >= database.allocatedStorageGiB (${db.allocatedStorageGiB}); raise maxAllocatedStorageGiB`);
  }
  if (isConcreteString(db.databaseName) && !/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(db.databaseName)) {
    problems.add(`database.databaseName ('${db.databaseName}') must start with a letter and contain only letters, digits and underscores (at most 63 characters): SQLAlchemy before 2.1, which every Airflow 3.1-3.3 image uses, does not decode other characters in a database URL; rename the database`);
  }
  const broker = props.broker ?? {};
  checkCount(problems, 'broker.replicas', broker.replicas, 0);
  if (isConcrete(broker.replicas) && broker.replicas > 5) {
    problems.add(`broker.replicas (${broker.replicas}) must be between 0 and 5 (ElastiCache allows at most 5 replicas per shard)`);
  }
  if (isConcreteString(broker.engineVersion) && !/^(7\.2|8\.\d+)$/.test(broker.engineVersion)) {
    problems.add(`broker.engineVersion ('${broker.engineVersion}') is not a Valkey version ElastiCache runs; use '8.0', '8.1' or '7.2'`);
  }
  if (isConcreteString(broker.nodeType) && !/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(broker.nodeType)) {
    problems.add(`broker.nodeType ('${broker.nodeType}') is not a cache node type; use a name such as 'cache.t4g.micro' or 'cache.m7g.large'`);
  }
}
