import * as path from 'path';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowVersion } from './airflow-version';

/**
 * The container image every Airflow component runs.
 *
 * All images must be built on the official `apache/airflow` image (its entrypoint, its `airflow`
 * user with uid 50000 and gid 0, `curl` and the `celery`, `fab`, `amazon` and `postgres`
 * providers are relied upon).
 */
export abstract class AirflowImage {
  /**
   * The official `apache/airflow` image from Docker Hub.
   *
   * @param version the Airflow release. @default AirflowVersion.V3_1_8
   */
  public static official(version?: AirflowVersion): AirflowImage {
    const v = version ?? AirflowVersion.V3_1_8;
    return new RegistryAirflowImage(`apache/airflow:${v.version}`);
  }

  /**
   * An image by name from any registry, for example a mirror of `apache/airflow` in your own
   * registry: `AirflowImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/airflow:3.1.8')`.
   *
   * @param name the image name with its tag or digest
   */
  public static fromRegistry(name: string): AirflowImage {
    if (name.trim() === '' || /\s/.test(name)) {
      throw new Error(`AirflowImage.fromRegistry('${name}'): not an image name; pass 'repository:tag' or 'repository@sha256:digest'`);
    }
    return new RegistryAirflowImage(name);
  }

  /**
   * Your own image in an ECR repository (typically `FROM apache/airflow:3.1.8` plus your Python
   * dependencies). The task execution roles get pull permission on the repository.
   *
   * @param repository the ECR repository
   * @param tag the image tag or digest. @default 'latest'
   */
  public static fromEcrRepository(repository: ecr.IRepository, tag?: string): AirflowImage {
    return new EcrAirflowImage(repository, tag ?? 'latest');
  }

  /**
   * Your own image built from a local directory with a Dockerfile at deploy time
   * (`cdk deploy` builds and pushes it to the CDK assets repository). Unless `options.platform`
   * says otherwise, it is built for the tasks' CPU architecture.
   *
   * @param directory the build context, containing a Dockerfile
   * @param options build options such as build args, target and platform
   */
  public static fromAsset(directory: string, options?: ecrAssets.DockerImageAssetOptions): AirflowImage {
    return new AssetAirflowImage(path.resolve(directory), options ?? {});
  }

  /** A human-readable description of the image, used in summaries and error messages. */
  public abstract readonly description: string;

  /**
   * The ECS container image for tasks of the given CPU architecture.
   *
   * @param architecture the CPU architecture of the tasks that run the image
   */
  public abstract bind(architecture: ecs.CpuArchitecture): ecs.ContainerImage;
}

class RegistryAirflowImage extends AirflowImage {
  constructor(public readonly description: string) {
    super();
  }

  public bind(_architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    // Multi-arch manifests (apache/airflow is amd64 + arm64): the task's platform picks the image.
    return ecs.ContainerImage.fromRegistry(this.description);
  }
}

class EcrAirflowImage extends AirflowImage {
  public readonly description: string;
  constructor(private readonly repository: ecr.IRepository, private readonly tag: string) {
    super();
    this.description = `ECR repository ${repository.node.path}:${tag}`;
  }

  public bind(_architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    return ecs.ContainerImage.fromEcrRepository(this.repository, this.tag);
  }
}

class AssetAirflowImage extends AirflowImage {
  public readonly description: string;
  constructor(private readonly directory: string, private readonly options: ecrAssets.DockerImageAssetOptions) {
    super();
    this.description = `Docker image built from ${directory}`;
  }

  public bind(architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    // Build for the tasks' architecture unless told otherwise: an amd64 image built on a laptop
    // and run on ARM64 tasks fails with "exec format error" (the story's commits #13 and #14).
    const platform = this.options.platform ?? (architecture === ecs.CpuArchitecture.ARM64
      ? ecrAssets.Platform.LINUX_ARM64
      : ecrAssets.Platform.LINUX_AMD64);
    return ecs.ContainerImage.fromAsset(this.directory, { ...this.options, platform });
  }
}
