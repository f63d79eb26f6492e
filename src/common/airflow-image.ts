import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AirflowVersion } from './airflow-version';
import type { ImageMirror, ImageMirrorBindOptions } from './image-mirror';
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
 * Python packages (and Debian packages) to add to the official image.
 */
export interface RequirementsImageOptions {
  /**
   * The Airflow release of the official image the packages are added to.
   *
   * @default AirflowVersion.latest()
   */
  readonly airflowVersion?: AirflowVersion;

  /**
   * The Python version of the official image, as in its tag suffix `-python3.12`.
   *
   * @default - the release's default image
   */
  readonly pythonVersion?: string;

  /**
   * Requirement specifiers, one per entry, as in a requirements file: `['pandas==2.2.3', 'apache-airflow-providers-snowflake']`.
   * Pass either this or `requirementsFile`.
   *
   * @default - none
   */
  readonly requirements?: string[];

  /**
   * A requirements file (pip's format) to install, for example `path.join(__dirname, 'requirements.txt')`;
   * it may not include other files (`-r`, `-c`). Pass either this or `requirements`.
   *
   * @default - none
   */
  readonly requirementsFile?: string;

  /**
   * Debian packages to install first, as root, such as `['libpq-dev']`.
   *
   * @default - none
   */
  readonly aptPackages?: string[];

  /**
   * Install with the constraints the official image was built with (`${HOME}/constraints.txt` in the
   * image), so that no package Airflow depends on moves to a version Airflow was not released with.
   * A requirement that pins another version of a constrained package then fails the build: pin the
   * constraints' version, or turn this off.
   *
   * @default true
   */
  readonly constraints?: boolean;
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
    const where = `AirflowImage.fromEcrRepository(${repository.node.path}, '${tagOrDigest}')`;
    if (!Token.isUnresolved(tagOrDigest) && (tagOrDigest === undefined || tagOrDigest === null || tagOrDigest.trim() === '' || tagOrDigest === 'latest')) {
      throw new Error(`${where}: pass an immutable tag such as '3.3.2-acme-7' or a digest 'sha256:...'; `
        + 'with \'latest\' a new image changes nothing in the template, so neither the migration nor the services redeploy');
    }
    if (!Token.isUnresolved(tagOrDigest) && tagOrDigest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(tagOrDigest)) {
      throw new Error(`${where}: a digest is 'sha256:' and 64 lowercase hex digits, as \`docker buildx imagetools inspect\` prints it`);
    }
    if (!Token.isUnresolved(tagOrDigest) && !tagOrDigest.startsWith('sha256:') && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tagOrDigest)) {
      throw new Error(`${where}: not an image tag (letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'); pass the tag alone, without the repository or ':'`);
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

  /**
   * The official image with your Python packages (and Debian packages), built at deploy time from a
   * Dockerfile the library writes, the way the official image's documentation recommends: Debian
   * packages as root, then `pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r requirements.txt`
   * as the airflow user, with the image's own constraints. Built for the tasks' CPU architecture;
   * `cdk deploy` needs Docker, `cdk synth` does not.
   *
   * @param options the release, the packages
   */
  public static withRequirements(options: RequirementsImageOptions): AirflowImage {
    const version = options.airflowVersion ?? AirflowVersion.latest();
    const where = 'AirflowImage.withRequirements';
    if (options.pythonVersion !== undefined) checkPythonVersion(version, options.pythonVersion, where);
    const requirements = requirementsOf(options, where);
    checkAirflowPin(requirements, version, where);
    for (const pkg of options.aptPackages ?? []) {
      if (!APT_PACKAGE.test(pkg)) {
        throw new Error(`${where}: aptPackages entry '${pkg}' is not a Debian package name; pass names such as 'libpq-dev' (or 'libpq-dev=15.10-0+deb12u1' to pin)`);
      }
    }
    if (requirements.length === 0 && (options.aptPackages ?? []).length === 0) {
      throw new Error(`${where}: nothing to add; pass requirements, requirementsFile or aptPackages, or use AirflowImage.official()`);
    }
    const base = `apache/airflow:${version.version}${options.pythonVersion !== undefined ? `-python${options.pythonVersion}` : ''}`;
    const dockerfile = requirementsDockerfile(base, options.aptPackages ?? [], requirements.length > 0, options.constraints ?? true);
    const files = { 'Dockerfile': dockerfile, 'requirements.txt': requirements.map(r => `${r}\n`).join('') };
    const hash = crypto.createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16);
    const directory = path.join(os.tmpdir(), 'cdk-airflow-ecs-images', hash);
    fs.mkdirSync(directory, { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(directory, name), text);
    return new AssetAirflowImage(directory, {}, version,
      `${base} with ${requirements.length} Python requirement${requirements.length === 1 ? '' : 's'}${options.aptPackages?.length ? ` and ${options.aptPackages.length} Debian packages` : ''}`);
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

  /**
   * The ECS container image for tasks of the given CPU architecture, served through `mirror` when
   * the image is a public one the mirror copies (the official image, `fromRegistry` names on Docker
   * Hub); your own images are used as they are.
   *
   * @internal
   */
  public _bindMirrored(architecture: ecs.CpuArchitecture, _mirror: ImageMirror, _options: ImageMirrorBindOptions): ecs.ContainerImage {
    return this.bind(architecture);
  }
}

class RegistryAirflowImage extends AirflowImage {
  constructor(public readonly description: string, public readonly airflowVersion: AirflowVersion) {
    super();
  }

  public bind(_architecture: ecs.CpuArchitecture): ecs.ContainerImage {
    // Multi-arch manifests (apache/airflow is amd64 + arm64): the task's platform picks the image.
    return ecs.ContainerImage.fromRegistry(this.description);
  }

  /** @internal */
  public _bindMirrored(_architecture: ecs.CpuArchitecture, mirror: ImageMirror, options: ImageMirrorBindOptions): ecs.ContainerImage {
    // The copy takes the task definition's architecture only (the mirror reads it when the
    // container is added).
    return mirror.bind(this.description, options);
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
    description?: string,
  ) {
    super();
    this.description = description ?? `Docker image built from ${directory}`;
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

const APT_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/;

/** The requirement lines of `requirements` or `requirementsFile`, without comments and blank lines. */
function requirementsOf(options: RequirementsImageOptions, where: string): string[] {
  if (options.requirements !== undefined && options.requirementsFile !== undefined) {
    throw new Error(`${where}: pass requirements or requirementsFile, not both`);
  }
  let lines: string[];
  if (options.requirementsFile !== undefined) {
    const file = path.resolve(options.requirementsFile);
    if (!fs.existsSync(file)) throw new Error(`${where}: requirementsFile ${file} does not exist`);
    lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } else {
    lines = options.requirements ?? [];
    for (const r of lines) {
      if (/[\r\n]/.test(r)) throw new Error(`${where}: requirements entry '${r}' holds a line break; pass one requirement per entry`);
    }
  }
  const requirements = lines.map(l => l.replace(/(^|\s)#.*$/, '').trim()).filter(l => l !== '');
  const include = requirements.find(r => /^(-r|-c|--requirement|--constraint)\b/.test(r));
  if (include) {
    throw new Error(`${where}: '${include}' includes another file, which the image build does not have; put its requirements into this one`);
  }
  return requirements;
}

/** Refuses a requirement that pins another apache-airflow than the image's: pip would replace Airflow, or fail. */
function checkAirflowPin(requirements: string[], version: AirflowVersion, where: string): void {
  for (const r of requirements) {
    const m = /^apache[-_.]airflow\s*(\[[^\]]*\])?\s*(==|===|~=|>=|<=|!=|<|>)?\s*([^\s;,]*)/i.exec(r);
    if (!m || /^apache[-_.]airflow[-_.]/i.test(r)) continue; // apache-airflow-providers-* and the like
    if ((m[2] === '==' || m[2] === '===') && m[3] !== version.version) {
      throw new Error(`${where}: the requirement '${r}' pins Airflow ${m[3]}, but the image is Airflow ${version.version}; `
        + `remove it (the image's Airflow is kept) or set airflowVersion: AirflowVersion.of('${m[3]}')`);
    }
  }
}

/**
 * The Dockerfile of `withRequirements`, as the official image's documentation extends it: Debian
 * packages as root, Python packages as the airflow user with the same apache-airflow pinned.
 */
function requirementsDockerfile(base: string, aptPackages: string[], hasRequirements: boolean, constraints: boolean): string {
  const lines = [
    '# Generated by cdk-airflow-ecs (AirflowImage.withRequirements)',
    `FROM ${base}`,
  ];
  if (aptPackages.length > 0) {
    lines.push(
      'USER root',
      'RUN apt-get update \\',
      `  && apt-get install -y --no-install-recommends ${aptPackages.join(' ')} \\`,
      '  && apt-get autoremove -yqq --purge \\',
      '  && apt-get clean \\',
      '  && rm -rf /var/lib/apt/lists/*',
      'USER airflow',
    );
  }
  if (hasRequirements) {
    lines.push(
      'COPY requirements.txt /requirements.txt',
      `RUN pip install --no-cache-dir "apache-airflow==\${AIRFLOW_VERSION}" -r /requirements.txt${constraints ? ' --constraint "\${HOME}/constraints.txt"' : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
