import { Annotations, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DockerImageName, ECRDeployment } from 'cdk-ecr-deployment';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeNag, NAG } from '../private/nag';

/**
 * Options of `ImageMirror.ecr()`.
 */
export interface EcrImageMirrorOptions {
  /**
   * Docker Hub credentials for the copy, in a Secrets Manager secret holding JSON
   * `{"username":"...","password":"..."}` (a Docker Hub access token as the password) or plain
   * `username:password`. Authenticated pulls count against your Docker Hub account's limit instead
   * of the anonymous limit of the copy's IP address (10 pulls per hour since April 2025). Used for
   * Docker Hub images only (`apache/airflow`); registry.k8s.io needs none.
   *
   * @default - anonymous pulls: each copy pulls an image once, on the first deployment of its tag
   */
  readonly dockerHubCredentials?: secretsmanager.ISecret;

  /**
   * The VPC the copying function runs in. It needs a way to Docker Hub and registry.k8s.io (a NAT
   * gateway or instance): then the pulls come from the deployment's own public address.
   *
   * @default - the VPC of the tasks when the library places the image (AirflowOnEcs, AirflowService,
   * the migration and cleanup tasks); outside any VPC for a GitSyncSidecar used alone
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` the copying function runs.
   *
   * @default - the tasks' subnets, else the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * Where ECS finds an image it runs, given in `ImageMirror.bind()`.
 */
export interface ImageMirrorBindOptions {
  /**
   * The VPC of the tasks, for the copying function (unless the mirror names its own).
   *
   * @default - outside any VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The subnets of the tasks in `vpc`.
   *
   * @default - the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * Where the tasks pull the public images they run (the official `apache/airflow` image and
 * git-sync) from.
 *
 * By default (`ImageMirror.ecr()`) each image is copied at deploy time into an ECR repository in
 * your account, and the task definitions reference the copy: ECS pulls from ECR only, and only the
 * deployment that introduces a new tag pulls from Docker Hub or registry.k8s.io, once. Images in
 * other registries (your ECR repositories, assets, a private registry), and names pinned by digest
 * (`name@sha256:...`, whose copy of one architecture would have another digest), are used as they are.
 */
export abstract class ImageMirror {
  /**
   * Copy public images into ECR repositories of the stack that runs them, at deploy time, and run
   * the copies. Only the tasks' CPU architecture is copied, under the upstream tag.
   *
   * @param options Docker Hub credentials, the copy's network
   */
  public static ecr(options: EcrImageMirrorOptions = {}): ImageMirror {
    return new EcrImageMirror(options);
  }

  /**
   * Pull every image from its upstream registry on every task start, as the image name says (Docker
   * Hub limits anonymous pulls to 10 per hour per IP address; Fargate caches no images).
   */
  public static upstream(): ImageMirror {
    return new UpstreamImages();
  }

  /** Whether public images are copied into ECR. */
  public abstract readonly copiesToEcr: boolean;

  /**
   * The ECS container image for a public image name.
   *
   * @param imageName the image by name with its tag, such as `apache/airflow:3.1.8`
   * @param options the network of the tasks
   */
  public abstract bind(imageName: string, options?: ImageMirrorBindOptions): ecs.ContainerImage;
}

class UpstreamImages extends ImageMirror {
  public readonly copiesToEcr = false;

  public bind(imageName: string, _options: ImageMirrorBindOptions = {}): ecs.ContainerImage {
    return ecs.ContainerImage.fromRegistry(imageName);
  }
}

class EcrImageMirror extends ImageMirror {
  public readonly copiesToEcr = true;

  constructor(private readonly options: EcrImageMirrorOptions) {
    super();
  }

  public bind(imageName: string, options: ImageMirrorBindOptions = {}): ecs.ContainerImage {
    const source = parseImageName(imageName);
    if (!source || !source.copied) return ecs.ContainerImage.fromRegistry(imageName);
    return new MirroredImage(imageName, source, {
      dockerHubCredentials: source.dockerHub ? this.options.dockerHubCredentials : undefined,
      vpc: this.options.vpc ?? options.vpc,
      vpcSubnets: this.options.vpc ? this.options.vpcSubnets : (this.options.vpcSubnets ?? options.vpcSubnets),
    });
  }
}

/** An image name split into what the copy needs. */
interface ParsedImageName {
  /** The repository within its registry, such as `apache/airflow` or `git-sync/git-sync`. */
  readonly repository: string;
  /** The tag; undefined when the name has a digest. */
  readonly tag?: string;
  /** The name pins a digest (`@sha256:...`). */
  readonly digest: boolean;
  /** The image is on Docker Hub. */
  readonly dockerHub: boolean;
  /** The image is copied by `ImageMirror.ecr()`: on Docker Hub or registry.k8s.io, with a tag. */
  readonly copied: boolean;
}

/** Registries the copy serves from ECR: the public ones the tasks would otherwise pull from through NAT. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const COPIED_REGISTRIES = new Set([...DOCKER_HUB, 'registry.k8s.io']);

/**
 * Splits `[registry/]repository[:tag][@digest]` the way Docker does: the first component is a
 * registry when it has a dot or a port, or is `localhost`. Undefined for a token.
 */
function parseImageName(name: string): ParsedImageName | undefined {
  if (Token.isUnresolved(name)) return undefined;
  const [withoutDigest, digest] = name.split('@');
  const slash = withoutDigest.indexOf('/');
  const first = slash > 0 ? withoutDigest.slice(0, slash) : '';
  const hasRegistry = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : 'docker.io';
  const rest = hasRegistry ? withoutDigest.slice(slash + 1) : withoutDigest;
  const colon = rest.lastIndexOf(':');
  let repository = colon > 0 ? rest.slice(0, colon) : rest;
  const tag = digest ? undefined : (colon > 0 ? rest.slice(colon + 1) : 'latest');
  const dockerHub = DOCKER_HUB.has(registry);
  if (dockerHub && !repository.includes('/')) repository = `library/${repository}`;
  return { repository, tag, digest: digest !== undefined, dockerHub, copied: COPIED_REGISTRIES.has(registry) && digest === undefined };
}

interface MirrorNetwork {
  readonly dockerHubCredentials?: secretsmanager.ISecret;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * The copy of an upstream image in ECR: the container references the ECR repository under the
 * upstream tag; its task definition depends on the copy, so no task starts before the image is
 * there, and its execution role may pull it.
 */
class MirroredImage extends ecs.ContainerImage {
  constructor(
    private readonly imageName: string,
    private readonly source: ParsedImageName,
    private readonly network: MirrorNetwork,
  ) {
    super();
  }

  public bind(_scope: Construct, containerDefinition: ecs.ContainerDefinition): ecs.ContainerImageConfig {
    const taskDefinition = containerDefinition.taskDefinition;
    const architecture = taskArchitecture(taskDefinition);
    const copy = ImageMirrors.of(containerDefinition).copy(this.imageName, this.source, architecture, this.network);
    const executionRole = taskDefinition.obtainExecutionRole();
    copy.repository.grantPull(executionRole);
    acknowledgeNag(executionRole, [NAG.ecrAuthorizationToken], true);
    taskDefinition.node.addDependency(copy.deployment);
    return { imageName: copy.repository.repositoryUriForTag(this.source.tag!) };
  }
}

/** The CPU architecture of a task definition: its runtime platform's, else Fargate's default, X86_64. */
function taskArchitecture(taskDefinition: ecs.TaskDefinition): 'arm64' | 'amd64' {
  const platform = (taskDefinition.node.defaultChild as ecs.CfnTaskDefinition | undefined)?.runtimePlatform as
    ecs.CfnTaskDefinition.RuntimePlatformProperty | undefined;
  return platform?.cpuArchitecture === 'ARM64' ? 'arm64' : 'amd64';
}

/**
 * The ECR copies of one stack: one repository per upstream repository and CPU architecture, one
 * copy per tag. The repositories belong to the stack whose tasks run the images, so they are
 * created, referenced and deleted with it and no other stack depends on them.
 */
class ImageMirrors extends Construct {
  public static of(scope: IConstruct): ImageMirrors {
    const stack = Stack.of(scope);
    const id = 'AirflowImageMirror';
    return (stack.node.tryFindChild(id) as ImageMirrors | undefined) ?? new ImageMirrors(stack, id);
  }

  private readonly copies = new Map<string, { repository: ecr.Repository; deployment: ECRDeployment }>();

  public copy(imageName: string, source: ParsedImageName, architecture: 'arm64' | 'amd64', network: MirrorNetwork) {
    const repositoryId = `${source.repository.split(/[/._-]+/).map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('')}${architecture === 'arm64' ? 'Arm64' : 'Amd64'}`;
    const key = `${repositoryId}:${source.tag}`;
    const existing = this.copies.get(key);
    if (existing) return existing;
    const repository = (this.node.tryFindChild(repositoryId) as ecr.Repository | undefined) ?? new ecr.Repository(this, repositoryId, {
      // a copy of a public image: deleted with the stack, images and all
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
      imageScanOnPush: true,
      // Mutable tags: a rollback, or new credentials, copies a tag again, which an immutable
      // repository refuses (cdklabs/cdk-ecr-deployment#207). The tag is the upstream release tag.
      imageTagMutability: ecr.TagMutability.MUTABLE,
      // the current release and the two before it, for rollbacks
      lifecycleRules: [{ description: 'Keep the three most recently copied images', maxImageCount: 3 }],
    });
    const credentials = network.dockerHubCredentials;
    const deployment = new ECRDeployment(this, `${repositoryId}Copy${source.tag}`, {
      src: new DockerImageName(imageName, credentials?.secretArn),
      dest: new DockerImageName(repository.repositoryUriForTag(source.tag!)),
      imageArch: [architecture],
      // apache/airflow is about 0.5 GB compressed per architecture; the copy streams it layer by
      // layer, and memory buys the function network throughput and CPU
      memoryLimit: COPY_MEMORY_MIB,
      vpc: network.vpc,
      vpcSubnets: network.vpc ? (network.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }) : undefined,
    });
    if (credentials) {
      deployment.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [credentials.secretFullArn ?? `${credentials.secretArn}-??????`],
      }));
      if (credentials.encryptionKey) {
        deployment.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [credentials.encryptionKey.keyArn] }));
      }
    }
    const copy = { repository, deployment };
    this.copies.set(key, copy);
    this.acknowledgeCopyFunction();
    return copy;
  }

  /** The cdk-nag findings of cdk-ecr-deployment's function (a singleton at the stack's root). */
  private acknowledgeCopyFunction(): void {
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('Custom::CDKECRDeployment')) continue;
      acknowledgeNag(child, [NAG.lambdaBasicExecution, NAG.lambdaVpcExecution, NAG.imageCopy], true);
      Annotations.of(child).acknowledgeWarning('@aws-cdk/aws-ec2:ipv4IgnoreEgressRule', 'outbound traffic is allowed to anywhere');
    }
  }
}

/** Memory of the copying function, in MiB. */
const COPY_MEMORY_MIB = 2048;
