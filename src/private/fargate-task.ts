import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AIRFLOW_USER, DEFAULTS } from './defaults';
import { acknowledgeNag, NAG } from './nag';
import type { AirflowImage } from '../common/airflow-image';
import { ImageMirror } from '../common/image-mirror';

/** What an Airflow task is made of: the same for every component and for the migration. */
export interface AirflowTaskProps {
  readonly vpc: ec2.IVpc;
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  /** Task ephemeral storage in GiB (21–200); undefined for Fargate's 20 GiB. */
  readonly ephemeralStorageGiB?: number;
  readonly architecture: ecs.CpuArchitecture;
  readonly image: AirflowImage;
  /** Where public images are pulled from; undefined for ImageMirror.ecr(). */
  readonly imageMirror?: ImageMirror;
  /** The tasks' subnets, where the image copy runs too. */
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly logRetention?: logs.RetentionDays;
  /** The id of the Airflow container (construct id) and its name. */
  readonly containerId: string;
  readonly containerName: string;
  readonly command: string[];
  readonly environment: { [name: string]: string };
  readonly secrets: { [name: string]: ecs.Secret };
  readonly healthCheck?: ecs.HealthCheck;
  readonly portMappings?: ecs.PortMapping[];
  readonly stopTimeout?: Duration;
  readonly securityGroupDescription: string;
}

export interface AirflowTask {
  readonly logGroup: logs.LogGroup;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly containerImage: ecs.ContainerImage;
  readonly securityGroup: ec2.SecurityGroup;
}

/**
 * A Fargate task definition running the Airflow image as the official image's user, with its own
 * log group and security group (outbound open: image pulls, AWS APIs, whatever DAGs call).
 */
export function airflowTask(scope: Construct, props: AirflowTaskProps): AirflowTask {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? DEFAULTS.logRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const taskDefinition = new ecs.FargateTaskDefinition(scope, 'TaskDefinition', {
    cpu: props.cpu,
    memoryLimitMiB: props.memoryLimitMiB,
    ephemeralStorageGiB: props.ephemeralStorageGiB,
    runtimePlatform: { cpuArchitecture: props.architecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
  });
  const containerImage = props.image._bindMirrored(props.architecture, props.imageMirror ?? ImageMirror.ecr(),
    { vpc: props.vpc, vpcSubnets: props.vpcSubnets });
  const container = taskDefinition.addContainer(props.containerId, {
    containerName: props.containerName,
    image: containerImage,
    // the official image's airflow user; its entrypoint requires group 0
    user: AIRFLOW_USER,
    command: props.command,
    environment: props.environment,
    secrets: props.secrets,
    healthCheck: props.healthCheck,
    portMappings: props.portMappings,
    logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: props.containerName }),
    essential: true,
    stopTimeout: props.stopTimeout,
  });
  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: props.vpc,
    description: props.securityGroupDescription,
    allowAllOutbound: true,
  });
  // Outbound traffic goes anywhere, so the egress halves of the rules we add are already covered.
  Annotations.of(scope).acknowledgeWarning('@aws-cdk/aws-ec2:ipv4IgnoreEgressRule', 'outbound traffic is allowed to anywhere');
  acknowledgeNag(taskDefinition, [NAG.taskEnvironment]);
  return { logGroup, taskDefinition, container, containerImage, securityGroup };
}
