/**
 * ImageMirror: by default every image the tasks run is a copy in an ECR repository of the stack,
 * made at deploy time before any task that runs it; ImageMirror.upstream() keeps the upstream names.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { createApp as basicApp } from '../../examples/basic/app';
import { createApp as gitSyncApp } from '../../examples/git-sync/app';
import { createApp as workerPoolsApp } from '../../examples/worker-pools/app';
import { AirflowImage, AirflowOnEcs, AirflowVersion, DagSource, GitSyncSidecar, ImageMirror } from '../../src';

/** Every container image of every task definition in the app, with where it is. */
function images(app: App): { where: string; image: any; template: any; taskDefinition: string }[] {
  const out: { where: string; image: any; template: any; taskDefinition: string }[] = [];
  for (const stack of app.synth().stacks) {
    const template = stack.template as any;
    for (const [id, r] of Object.entries<any>(template.Resources)) {
      if (r.Type !== 'AWS::ECS::TaskDefinition') continue;
      for (const c of r.Properties.ContainerDefinitions) out.push({ where: `${stack.stackName}/${id}/${c.Name}`, image: c.Image, template, taskDefinition: id });
    }
  }
  return out;
}

/** The ECR repository (logical id) an image reference points at, if it is `<account>.dkr.ecr.<region>.<suffix>/<repository>:<tag>`. */
function ecrRepositoryOf(image: any): { repository: string; tag: string } | undefined {
  const parts = image?.['Fn::Join']?.[1];
  if (!Array.isArray(parts)) return undefined;
  const text = JSON.stringify(parts);
  const arn = /"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/.exec(text);
  const last = parts[parts.length - 1];
  if (!arn || parts[1] !== '.dkr.ecr.' || typeof last !== 'string' || !last.startsWith(':')) return undefined;
  // the account and region are the repository ARN's, the name is its Ref
  if (!parts.some((p: any) => p?.Ref === arn[1])) return undefined;
  return { repository: arn[1], tag: last.slice(1) };
}

const apps: [string, () => App][] = [
  ['examples/basic', () => basicApp()],
  ['examples/git-sync', () => gitSyncApp()],
  ['examples/worker-pools', () => workerPoolsApp()],
  ['AirflowOnEcs with its defaults', () => {
    const app = new App();
    new AirflowOnEcs(new Stack(app, 'Defaults'), 'Airflow');
    return app;
  }],
];

describe.each(apps)('%s', (_name, makeApp) => {
  const all = images(makeApp());

  test('every container image is a copy in an ECR repository of the same stack, under an upstream tag', () => {
    expect(all.length).toBeGreaterThan(0);
    const notEcr = all.filter(i => {
      const ref = ecrRepositoryOf(i.image);
      return !ref || i.template.Resources[ref.repository]?.Type !== 'AWS::ECR::Repository';
    });
    expect(notEcr.map(i => `${i.where}: ${JSON.stringify(i.image).slice(0, 120)}`)).toEqual([]);
    // and no upstream registry name survives anywhere in the templates but in the copies' sources
    const withoutCopies = (t: any) => Object.values<any>(t.Resources).filter(r => r.Type !== 'Custom::CDKECRDeployment');
    const text = all.map(i => JSON.stringify(withoutCopies(i.template))).join('\n');
    expect(text).not.toMatch(/registry\.k8s\.io|docker\.io|"apache\/airflow:/);
  });

  test('each task definition waits for the copies of its images, which copy the tasks\' architecture only', () => {
    for (const i of all) {
      const { repository, tag } = ecrRepositoryOf(i.image)!;
      const copies = Object.entries<any>(i.template.Resources).filter(([, r]) => r.Type === 'Custom::CDKECRDeployment'
        && JSON.stringify(r.Properties.DestImage).includes(`"Ref":"${repository}"`) && JSON.stringify(r.Properties.DestImage).endsWith(`:${tag}"]]}`));
      expect(copies).toHaveLength(1);
      const [copyId, copy] = copies[0];
      expect(i.template.Resources[i.taskDefinition].DependsOn).toContain(copyId);
      expect(copy.Properties.SrcImage).toMatch(new RegExp(`^docker://(apache/airflow|registry\\.k8s\\.io/git-sync/git-sync):${tag.replace(/\./g, '\\.')}$`));
      const arch = i.template.Resources[i.taskDefinition].Properties.RuntimePlatform.CpuArchitecture;
      expect(copy.Properties.ImageArch).toBe(arch === 'ARM64' ? 'arm64' : 'amd64');
    }
  });
});

// pitfall #7: the copy exists, and may be pulled, before any task starts
test('the services and the migration start only after the copy: they depend on task definitions that depend on it', () => {
  const stack = new Stack(new App(), 'S');
  const airflow = new AirflowOnEcs(stack, 'Airflow');
  const template = Template.fromStack(stack).toJSON();
  const [copyId] = Object.entries<any>(template.Resources).find(([, r]) => r.Type === 'Custom::CDKECRDeployment')!;
  const taskDefinitions = [...airflow.services.map(s => s.taskDefinition), airflow.migration.taskDefinition];
  for (const td of taskDefinitions) {
    expect(template.Resources[stack.getLogicalId(td.node.defaultChild as ecs.CfnTaskDefinition)].DependsOn).toContain(copyId);
  }
  // one copy of the Airflow image for the whole stack, one function, one repository
  expect(Object.values<any>(template.Resources).filter(r => r.Type === 'Custom::CDKECRDeployment')).toHaveLength(1);
  expect(Object.values<any>(template.Resources).filter(r => r.Type === 'AWS::ECR::Repository')).toHaveLength(1);
});

test('the copying function runs in the tasks\' private subnets with 2 GiB, and the execution roles may pull the copy', () => {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow');
  const t = Template.fromStack(stack);
  const functions = Object.values<any>(t.findResources('AWS::Lambda::Function')).filter(f => f.Properties.Handler === 'bootstrap');
  expect(functions).toHaveLength(1);
  expect(functions[0].Properties.MemorySize).toBe(2048);
  expect(functions[0].Properties.Timeout).toBe(900);
  expect(functions[0].Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
  const repo = Object.keys(t.findResources('AWS::ECR::Repository'))[0];
  const pulls = Object.values<any>(t.findResources('AWS::IAM::Policy')).filter(p => JSON.stringify(p).includes('ecr:BatchGetImage')
    && JSON.stringify(p).includes(`"${repo}","Arn"`));
  // the execution role of each of the 5 services, the migration and the cleanup
  expect(pulls.length).toBeGreaterThanOrEqual(7);
  t.hasResourceProperties('AWS::ECR::Repository', { EmptyOnDelete: true, ImageScanningConfiguration: { ScanOnPush: true } });
});

test('ImageMirror.upstream() keeps pulling from Docker Hub and registry.k8s.io, and creates no copy', () => {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', {
    imageMirror: ImageMirror.upstream(),
    dags: DagSource.gitSync({ repository: 'https://github.com/acme/dags.git' }),
  });
  const template = Template.fromStack(stack).toJSON();
  const names = new Set<string>();
  for (const r of Object.values<any>(template.Resources)) {
    if (r.Type === 'AWS::ECS::TaskDefinition') for (const c of r.Properties.ContainerDefinitions) names.add(c.Image);
  }
  expect([...names].sort()).toEqual([`apache/airflow:${AirflowVersion.latest().version}`, 'registry.k8s.io/git-sync/git-sync:v4.7.1']);
  expect(JSON.stringify(template)).not.toMatch(/CDKECRDeployment|AWS::ECR::Repository/);
});

test('X86_64 tasks get an amd64 copy; a python variant is a second tag in the same repository', () => {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', {
    cpuArchitecture: ecs.CpuArchitecture.X86_64,
    image: AirflowImage.official(AirflowVersion.latest(), { pythonVersion: '3.12' }),
  });
  const t = Template.fromStack(stack);
  t.resourceCountIs('Custom::CDKECRDeployment', 1);
  t.hasResourceProperties('Custom::CDKECRDeployment', { SrcImage: `docker://apache/airflow:${AirflowVersion.latest().version}-python3.12`, ImageArch: 'amd64' });
});

test('your own images are not copied: fromEcrRepository stays your repository', () => {
  const stack = new Stack(new App(), 'S');
  const repo = ecr.Repository.fromRepositoryName(stack, 'Repo', 'acme/airflow');
  new AirflowOnEcs(stack, 'Airflow', { image: AirflowImage.fromEcrRepository(repo, '3.3.2-acme-7', AirflowVersion.V3_3_2) });
  const t = Template.fromStack(stack);
  t.resourceCountIs('Custom::CDKECRDeployment', 0);
  t.resourceCountIs('AWS::ECR::Repository', 0);
});

test('Docker Hub credentials reach the Airflow copy (not git-sync\'s), and the function may read the secret', () => {
  const stack = new Stack(new App(), 'S');
  const credentials = new secretsmanager.Secret(stack, 'DockerHub');
  new AirflowOnEcs(stack, 'Airflow', {
    imageMirror: ImageMirror.ecr({ dockerHubCredentials: credentials }),
    dags: DagSource.gitSync({ repository: 'https://github.com/acme/dags.git' }),
  });
  const t = Template.fromStack(stack);
  const secretRef = { Ref: stack.getLogicalId(credentials.node.defaultChild as secretsmanager.CfnSecret) };
  t.hasResourceProperties('Custom::CDKECRDeployment', { SrcImage: `docker://apache/airflow:${AirflowVersion.latest().version}`, SrcCreds: secretRef });
  const gitSync = Object.values<any>(t.findResources('Custom::CDKECRDeployment')).find(r => r.Properties.SrcImage.includes('git-sync'));
  expect(gitSync.Properties.SrcCreds).toBeUndefined();
  const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
  expect(policies).toContain('secretsmanager:GetSecretValue');
});

test('a GitSyncSidecar used alone copies git-sync too, for its task definition\'s architecture', () => {
  const stack = new Stack(new App(), 'S');
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Task', { runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64 } });
  const container = taskDefinition.addContainer('App', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:1.36') });
  new GitSyncSidecar(stack, 'GitSync', { taskDefinition, container, repository: 'https://github.com/acme/dags.git' });
  const t = Template.fromStack(stack);
  t.hasResourceProperties('Custom::CDKECRDeployment', { SrcImage: 'docker://registry.k8s.io/git-sync/git-sync:v4.7.1', ImageArch: 'arm64' });
  // an image from another registry is used as given
  expect(JSON.stringify(t.toJSON())).toContain('public.ecr.aws/docker/library/busybox:1.36');
});

// pitfall #7: Services not starting: wrong ECR image references
test('fromEcrRepository requires a tag or a digest, and a well-formed one', () => {
  const stack = new Stack(new App(), 'S');
  const repo = ecr.Repository.fromRepositoryName(stack, 'Repo', 'acme/airflow');
  expect(() => AirflowImage.fromEcrRepository(repo, '', AirflowVersion.V3_3_2)).toThrow(/pass an immutable tag/);
  expect(() => AirflowImage.fromEcrRepository(repo, 'latest', AirflowVersion.V3_3_2)).toThrow(/pass an immutable tag/);
  expect(() => AirflowImage.fromEcrRepository(repo, 'sha256:abc', AirflowVersion.V3_3_2)).toThrow(/64 lowercase hex digits/);
  expect(() => AirflowImage.fromEcrRepository(repo, 'acme/airflow:3.3.2', AirflowVersion.V3_3_2)).toThrow(/not an image tag/);
  expect(AirflowImage.fromEcrRepository(repo, `sha256:${'a'.repeat(64)}`, AirflowVersion.V3_3_2).airflowVersion).toBe(AirflowVersion.V3_3_2);
});
