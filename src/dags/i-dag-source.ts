import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ImageMirror } from '../common/image-mirror';

/**
 * Where a component's task is, for a DAG source to add what it needs to it.
 */
export interface DagSourceBindOptions {
  /** The component's task definition. */
  readonly taskDefinition: ecs.TaskDefinition;
  /** The Airflow container, which reads the DAG files. */
  readonly container: ecs.ContainerDefinition;
  /** The component's log group. */
  readonly logGroup: logs.ILogGroup;

  /**
   * Where public images the source adds (git-sync) are pulled from.
   *
   * @default ImageMirror.ecr()
   */
  readonly imageMirror?: ImageMirror;

  /**
   * The VPC of the component's tasks, where an image copy runs.
   *
   * @default - outside any VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The subnets of the component's tasks.
   *
   * @default - the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * What a DAG source added to a component.
 */
export interface DagSourceConfig {
  /**
   * Failed syncs, for sources that keep DAGs in sync while Airflow runs.
   *
   * @default - none: the source does not sync
   */
  readonly syncErrorsMetric?: cloudwatch.IMetric;

  /**
   * An alarm on failed syncs; give it an action to be told.
   *
   * @default - none: the source does not sync
   */
  readonly syncErrorsAlarm?: cloudwatch.IAlarm;
}

/**
 * Where the Airflow components get DAG files from: `DagSource.gitSync()`, `DagSource.fromImage()`,
 * or a source of your own.
 */
export interface IDagSource {
  /** `[core] dags_folder`, the same in every component. */
  readonly dagsFolder: string;

  /**
   * Adds what the source needs to a component that reads DAG files (the dag-processor, the
   * triggerer and the Celery workers), such as a sidecar that syncs them.
   *
   * @param scope the component's construct
   * @param options the component's task
   */
  bind(scope: Construct, options: DagSourceBindOptions): DagSourceConfig;
}
