import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowVersion } from './airflow-version';
import { checkPythonVersion } from '../private/airflow-releases';

/**
 * Options of the official image.
 */
export interface OfficialImageOptions {
  /**
   * The Python version of the image, as in the tag suffix `-python3.12`. Airflow 3.1's Python 3.13
   * images lack the FAB provider that the library's auth manager needs, so synth refuses them.
   *
   * @default - the release's default image (Python 3.12 for Airflow 3.1, 3.13 for 3.2 and 3.3)
   */
  readonly pythonVersion?: string;
}

/**
 * Options of an image by name.
 */
export interface RegistryImageOptions {
  /**
   * The Airflow release the image holds, which chooses the configuration the library writes. Read
   * from the tag of `apache/airflow:<version>` images; required for others.
   *
   * @default - the version in an `apache/airflow:<version>` tag
   */
  readonly airflowVersion?: AirflowVersion;
}

/**
 * Options of your own image built from a directory.
 */
export interface AssetImageOptions extends ecrAssets.DockerImageAssetOptions {
  /**
   * The Airflow release the image is built on, which chooses the configuration the library writes.
   *
   * @default - the version of the Dockerfile's `FROM apache/airflow:<version>` line
   */
  readonly airflowVersion?: AirflowVersion;
}

/**
 * The container image every Airflow component runs.
 *
 * All images must be built on the official `apache/airflow` image (its entrypoint, its `airflow`
 * user with uid 50000 and gid 0, `curl` and the `celery`, `fab`, `amazon` and `postgres`
 * providers are relied upon), and the library must know which Airflow release they hold.
 */
export abstract class AirflowImage {
  /**
   * The official `apache/airflow` image from Docker Hub.
   *
   * @param version the Airflow release. @default AirflowVersion.latest()
   * @param options the image's Python version
   */
  public static official(version?: AirflowVersion, options: OfficialImageOptions = {}): AirflowImage {
    const v = version ?? AirflowVersion.latest();
    if (options.pythonVersion !== undefined) checkPythonVersion(v, options.pythonVersion, 'AirflowImage.official');
    const suffix = options.pythonVersion !== undefined ? `-python${options.pythonVersion}` : '';
    return new RegistryAirflowImage(`apache/airflow:${v.version}${suffix}`, v);
  }

  /**
   * An image by name from any registry, for example a mirror of `apache/airflow` in your own
   * registry: `AirflowImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/airflow:3.3.2', { airflowVersion: AirflowVersion.V3_3_2 })`.
   *
   * @param name the image name with its tag or digest
   * @param options the Airflow release it holds (read from `apache/airflow:<version>` tags)
   */
  public static fromRegistry(name: string, options: RegistryImageOptions = {}): AirflowImage {
    if (name.trim() === '' || /\s/.test(name)) {
      throw new Error(`AirflowImage.fromRegistry('${name}'): not an image name; pass 'repository:tag' or 'repository@sha256:digest'`);
    }
    const official = /^(?:docker\.io\/)?(?:library\/)?apache\/airflow:([^@]+)$/.exec(name);
    if (official) {
      const m = /^(\d+\.\d+\.\d+)(?:-python(\d+\.\d+))?$/.exec(official[1]);
      if (!m) {
        throw new Error(`AirflowImage.fromRegistry('${name}'): the tag '${official[1]}' is not a release tag the library knows (<version> or <version>-python<X.Y>); use AirflowImage.official(AirflowVersion.of('<version>'), { pythonVersion })`);
      }
      const v = AirflowVersion.of(m[1]);
      if (options.airflowVersion && options.airflowVersion.version !== v.version) {
        throw new Error(`AirflowImage.fromRegistry('${name}'): the tag says Airflow ${v.version} but airflowVersion is ${options.airflowVersion.version}; remove airflowVersion or fix the tag`);
      }
      if (m[2] !== undefined) checkPythonVersion(v, m[2], `AirflowImage.fromRegistry('${name}')`);
      return new RegistryAirflowImage(name, v);
    }
    if (!options.airflowVersion) {
      throw new Error(`AirflowImage.fromRegistry('${name}'): which Airflow release does the image hold? Pass { airflowVersion: AirflowVersion.of('<version>') } (the release it is built FROM); it chooses the configuration the library writes`);
    }
    return new RegistryAirflowImage(name, options.airflowVersion);
  }

  /**
   * Your own image in an ECR repository (typically `FROM apache/airflow:3.3.2` plus your Python
   * dependencies). The task execution roles get pull permission on the repository.
   *
   * @param repository the ECR repository
   * @param tagOrDigest an immutable tag such as `3.3.2-acme-7`, or a digest `sha256:...`; a new
   *   image needs a new tag, so that the template changes and the services redeploy
   * @param airflowVersion the Airflow release the image is built on
   */
  public static fromEcrRepository(repository: ecr.IRepository, tagOrDigest: string, airflowVersion: AirflowVersion): AirflowImage {
    if (!Token.isUnresolved(tagOrDigest) && (tagOrDigest.trim() === '' || tagOrDigest === 'latest')) {
      throw new Error(`AirflowImage.fromEcrRepository(${repository.node.path}, '${tagOrDigest}'): pass an immutable tag such as '3.3.2-acme-7' or a digest 'sha256:...'; `
        + 'with \'latest\' a new image changes nothing in the template, so neither the migration nor the services redeploy');
    }
    return new EcrAirflowImage(repository, tagOrDigest, airflowVersion);
  }

  /**
   * Your own image built from a local directory with a Dockerfile at deploy time
   * (`cdk deploy` builds and pushes it to the CDK assets repository). Unless `options.platform`
   * says otherwise, it is built for the tasks' CPU architecture.
   *
   * @param directory the build context, containing a Dockerfile
   * @param options build options, and the Airflow release (read from the Dockerfile's FROM line)
   */
  public static fromAsset(directory: string, options: AssetImageOptions = {}): AirflowImage {
    const dir = path.resolve(directory);
    const { airflowVersion, ...buildOptions } = options;
    const version = airflowVersion ?? versionFromDockerfile(dir, options.file);
    return new AssetAirflowImage(dir, buildOptions, version);
  }

  /** A human-readable description of the image, used in summaries and error messages. */
  public abstract readonly description: string;

  /** The Airflow release the image holds. */
  public abstract readonly airflowVersion: AirflowVersion;

  /**
   * The ECS container image for tasks of the given CPU architecture.
   *
   * @param architecture the CPU architecture of the tasks that run the image
   */
  public abstract bind(architecture: ecs.CpuArchitecture): ecs.ContainerImage;
}

class RegistryAirflowImage extends AirflowImage {
  constructor(public readonly description: string, public readonly airflowVersion: AirflowVersion) {
    super();
  }

  public bind(_architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    // Multi-arch manifests (apache/airflow is amd64 + arm64): the task's platform picks the image.
    return ecs.ContainerImage.fromRegistry(this.description);
  }
}

class EcrAirflowImage extends AirflowImage {
  public readonly description: string;
  constructor(private readonly repository: ecr.IRepository, private readonly tag: string, public readonly airflowVersion: AirflowVersion) {
    super();
    this.description = `ECR repository ${repository.node.path}:${tag}`;
  }

  public bind(_architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    return ecs.ContainerImage.fromEcrRepository(this.repository, this.tag);
  }
}

class AssetAirflowImage extends AirflowImage {
  public readonly description: string;
  constructor(
    private readonly directory: string,
    private readonly options: ecrAssets.DockerImageAssetOptions,
    public readonly airflowVersion: AirflowVersion,
  ) {
    super();
    this.description = `Docker image built from ${directory}`;
  }

  public bind(architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    // Build for the tasks' architecture unless told otherwise: an amd64 image built on a laptop
    // and run on ARM64 tasks fails with "exec format error" (docs/pitfalls.md, #13 and #14).
    const platform = this.options.platform ?? (architecture === ecs.CpuArchitecture.ARM64
      ? ecrAssets.Platform.LINUX_ARM64
      : ecrAssets.Platform.LINUX_AMD64);
    return ecs.ContainerImage.fromAsset(this.directory, { ...this.options, platform });
  }
}

/** The release of a Dockerfile's `FROM apache/airflow:<version>[-pythonX.Y]` line. */
function versionFromDockerfile(directory: string, file: string | undefined): AirflowVersion {
  const dockerfile = path.join(directory, file ?? 'Dockerfile');
  const text = fs.existsSync(dockerfile) ? fs.readFileSync(dockerfile, 'utf8') : '';
  const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(?:docker\.io\/)?apache\/airflow:(\d+\.\d+\.\d+)(?:-python(\d+\.\d+))?\b/im.exec(text);
  if (!from) {
    throw new Error(`AirflowImage.fromAsset('${directory}'): which Airflow release is the image built on? ${fs.existsSync(dockerfile) ? `${dockerfile} has no 'FROM apache/airflow:<version>' line` : `there is no ${dockerfile}`}; `
      + 'pass { airflowVersion: AirflowVersion.of(\'<version>\') }');
  }
  const version = AirflowVersion.of(from[1]);
  if (from[2] !== undefined) checkPythonVersion(version, from[2], `AirflowImage.fromAsset('${directory}')`);
  return version;
}
