import * as path from 'path';
import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { BOOTSTRAP_SCRIPT } from './bootstrap';
import { AirflowImage } from '../common/airflow-image';
import { ImageMirror } from '../common/image-mirror';
import { AirflowOptions } from '../private/airflow-options';
import { sharedEnvironment, sharedSecrets } from '../private/config';
import { DEFAULTS, PORTS } from '../private/defaults';
import { checkEnvironment, ecsSecretsOnly } from '../private/environment-check';
import { airflowTask } from '../private/fargate-task';
import { acknowledgeNag, NAG } from '../private/nag';
import { BOOTSTRAP_ENV } from '../private/runtime-commands';
import { isConcreteString, Problems } from '../private/validation';
import { SecretsBackend } from '../secrets-backend/secrets-backend';
import { IAirflowStorage } from '../storage/i-airflow-storage';

/**
 * Properties of an `AirflowDatabaseMigration`.
 */
export interface AirflowDatabaseMigrationProps {
  /** The ECS cluster the migration task runs in. */
  readonly cluster: ecs.ICluster;

  /** The storage whose database is migrated. */
  readonly storage: IAirflowStorage;

  /**
   * The image; use the same image as the components.
   *
   * @default AirflowImage.official(AirflowVersion.latest())
   */
  readonly image?: AirflowImage;

  /**
   * Where the tasks pull the official image (and other public images) from. By default it is
   * copied at deploy time into an ECR repository of this stack, and the tasks pull the copy;
   * `ImageMirror.upstream()` pulls from Docker Hub on every task start.
   *
   * @default ImageMirror.ecr()
   */
  readonly imageMirror?: ImageMirror;

  /**
   * The CPU architecture of the task.
   *
   * @default ecs.CpuArchitecture.ARM64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * The Airflow admin user created on the first migration (password: `storage.adminPasswordSecret`).
   *
   * @default 'admin'
   */
  readonly adminUsername?: string;

  /**
   * The admin user's email address.
   *
   * @default 'admin@example.com'
   */
  readonly adminEmail?: string;

  /**
   * Extra environment variables, for example the ones given to every component.
   *
   * @default - none
   */
  readonly environment?: { [name: string]: string };

  /**
   * Extra secrets, for example the ones given to every component.
   *
   * @default - none
   */
  readonly secrets?: { [name: string]: ecs.Secret };

  /**
   * Airflow options `environment` and `secrets` may set although the image's Airflow release does
   * not list them (see `AirflowOnEcsProps.customOptions`).
   *
   * @default - none
   */
  readonly customOptions?: string[];

  /**
   * Airflow's secrets backend, the same as the components'; the task role may read under its prefixes.
   *
   * @default - none
   */
  readonly secretsBackend?: SecretsBackend;

  /**
   * Subnets of the migration task.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * How long the deployment waits for the migration to finish before it fails.
   *
   * @default Duration.minutes(30)
   */
  readonly timeout?: Duration;

  /**
   * How long the migration task's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Runs `airflow db migrate` (and creates the admin user if missing) as a one-off Fargate task,
 * once per deployment that changes the task (a new image, version or configuration), and waits
 * for it: a failed migration fails the deployment, before any service is updated. It is the
 * ECS counterpart of the Helm chart's migration job.
 */
export class AirflowDatabaseMigration extends Construct implements ec2.IConnectable {
  /** The migration task definition; run it by hand with `aws ecs run-task` if you need to. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The migration container. */
  public readonly container: ecs.ContainerDefinition;
  /** The migration task's logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The migration task's security group. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Network access of the migration task. */
  public readonly connections: ec2.Connections;
  /** The custom resource that runs the task; services that must start after it depend on it. */
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: AirflowDatabaseMigrationProps) {
    super(scope, id);
    const image = props.image ?? AirflowImage.official();
    validate(new Problems(this), props, image);
    const environment = {
      ...props.environment,
      ...sharedEnvironment({ storage: props.storage, executionApiServerUrl: `http://localhost:${PORTS.apiServer}/execution/` }),
      ...props.secretsBackend?.environment,
      [BOOTSTRAP_ENV.adminUsername]: props.adminUsername ?? DEFAULTS.adminUsername,
      [BOOTSTRAP_ENV.adminEmail]: props.adminEmail ?? DEFAULTS.adminEmail,
    };
    const secrets = {
      ...ecsSecretsOnly(props.secrets),
      ...sharedSecrets(props.storage),
      [BOOTSTRAP_ENV.adminPassword]: ecs.Secret.fromSecretsManager(props.storage.adminPasswordSecret),
    };
    const task = airflowTask(this, {
      vpc: props.cluster.vpc,
      imageMirror: props.imageMirror,
      vpcSubnets: props.vpcSubnets,
      cpu: DEFAULTS.migration.cpu,
      memoryLimitMiB: DEFAULTS.migration.memoryLimitMiB,
      architecture: props.cpuArchitecture ?? ecs.CpuArchitecture[DEFAULTS.cpuArchitecture],
      image,
      logRetention: props.logRetention,
      containerId: 'Migrate',
      containerName: 'migrate',
      command: ['bash', '-c', BOOTSTRAP_SCRIPT],
      environment,
      secrets,
      securityGroupDescription: 'Airflow database migration task',
    });
    this.logGroup = task.logGroup;
    this.taskDefinition = task.taskDefinition;
    this.container = task.container;
    this.securityGroup = task.securityGroup;
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup] });
    this.connections.allowTo(props.storage.databaseConnections, ec2.Port.tcp(PORTS.postgres), 'Airflow migration task to the metadata database');
    const backendPolicy = props.secretsBackend?.grantRead(this, this.taskDefinition.taskRole);

    const code = lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', 'migration-runner'));
    const fnProps = {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      code,
      timeout: Duration.seconds(30),
      memorySize: 256,
    };
    const onEvent = new lambda.Function(this, 'OnEvent', { ...fnProps, handler: 'index.onEvent', description: 'Starts the Airflow database migration task' });
    const isComplete = new lambda.Function(this, 'IsComplete', { ...fnProps, handler: 'index.isComplete', description: 'Waits for the Airflow database migration task' });
    this.taskDefinition.grantRun(onEvent);
    // to tell a rollback (which must not migrate) from an update
    onEvent.addToRolePolicy(new iam.PolicyStatement({
      actions: ['cloudformation:DescribeStacks'],
      resources: [Stack.of(this).formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${Stack.of(this).stackName}/*` })],
    }));
    isComplete.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ecs:DescribeTasks'],
      resources: [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${props.cluster.clusterName}/*` })],
    }));

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: Duration.seconds(15),
      totalTimeout: props.timeout ?? Duration.minutes(DEFAULTS.migrationTimeoutMinutes),
    });
    const subnets = props.cluster.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    this.resource = new CustomResource(this, 'Run', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::AirflowDatabaseMigration',
      properties: {
        ClusterArn: props.cluster.clusterArn,
        // A new task definition revision (image, version, configuration) runs the migration again.
        TaskDefinitionArn: this.taskDefinition.taskDefinitionArn,
        Subnets: subnets.subnetIds,
        SecurityGroups: [this.securityGroup.securityGroupId],
        LogGroupName: this.logGroup.logGroupName,
      },
    });
    for (const fn of [onEvent, isComplete]) acknowledgeNag(fn, [NAG.lambdaBasicExecution, NAG.migrationLambdas], true);
    acknowledgeNag(provider, [NAG.lambdaBasicExecution, NAG.migrationLambdas, NAG.providerRuntime, NAG.waiterLogging, NAG.waiterTracing], true);
    // The task needs its roles' policies and its way into the database before it runs: the
    // ingress rule, under its own security group when the database is in another stack, under the
    // database's in one stack. (The security group itself it references already.)
    this.resource.node.addDependency(this.taskDefinition.taskRole, this.taskDefinition.obtainExecutionRole());
    if (backendPolicy) this.resource.node.addDependency(backendPolicy);
    const rules = this.securityGroup.node.findAll().filter(c => c instanceof ec2.CfnSecurityGroupIngress);
    if (rules.length > 0) this.resource.node.addDependency(...rules);
    if (Stack.of(props.storage) === Stack.of(this)) {
      this.resource.node.addDependency(...props.storage.databaseConnections.securityGroups);
    }
  }
}

function validate(problems: Problems, props: AirflowDatabaseMigrationProps, image: AirflowImage): void {
  checkEnvironment(problems, props, AirflowOptions.of(image.airflowVersion));
  if (isConcreteString(props.adminUsername) && !/^[A-Za-z0-9_.@-]{1,64}$/.test(props.adminUsername)) {
    problems.add(`adminUsername ('${props.adminUsername}') must be 1–64 letters, digits or _ . @ -`);
  }
  if (isConcreteString(props.adminEmail) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.adminEmail)) {
    problems.add(`adminEmail ('${props.adminEmail}') is not an email address; pass one such as 'airflow-admin@example.com'`);
  }
}
