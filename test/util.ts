import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AirflowOnEcs, AirflowOnEcsProps, AirflowStorage, AirflowStorageProps } from '../src';

export interface TwoStacks {
  app: App;
  storageStack: Stack;
  servicesStack: Stack;
  storage: AirflowStorage;
  airflow: AirflowOnEcs;
  storageTemplate: Template;
  servicesTemplate: Template;
}

/** The example's shape: storage in one stack, services in another. */
export function twoStacks(props: Omit<AirflowOnEcsProps, 'storage'> = {}, storageProps: AirflowStorageProps = {}): TwoStacks {
  const app = new App();
  const storageStack = new Stack(app, 'Storage');
  const storage = new AirflowStorage(storageStack, 'Storage', storageProps);
  const servicesStack = new Stack(app, 'Services');
  const airflow = new AirflowOnEcs(servicesStack, 'Airflow', { ...props, storage });
  return {
    app,
    storageStack,
    servicesStack,
    storage,
    airflow,
    storageTemplate: Template.fromStack(storageStack),
    servicesTemplate: Template.fromStack(servicesStack),
  };
}

/** Everything in one stack. */
export function oneStack(props: AirflowOnEcsProps = {}): { stack: Stack; airflow: AirflowOnEcs; template: Template } {
  const app = new App();
  const stack = new Stack(app, 'Airflow');
  const airflow = new AirflowOnEcs(stack, 'Airflow', props);
  return { stack, airflow, template: Template.fromStack(stack) };
}

export interface ContainerDef {
  Name: string;
  Command?: string[];
  Environment?: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
  HealthCheck?: { Command: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
  DependsOn?: { ContainerName: string; Condition: string }[];
  Essential?: boolean;
  StopTimeout?: number;
  PortMappings?: { ContainerPort: number; Name?: string }[];
}

/** The containers of every task definition, keyed by the essential container's name. */
export function taskDefinitions(template: Template): Record<string, { properties: any; containers: ContainerDef[]; logicalId: string }> {
  const out: Record<string, { properties: any; containers: ContainerDef[]; logicalId: string }> = {};
  for (const [logicalId, r] of Object.entries<any>(template.findResources('AWS::ECS::TaskDefinition'))) {
    const containers: ContainerDef[] = r.Properties.ContainerDefinitions;
    const main = containers.find(c => c.Essential !== false) ?? containers[0];
    out[main.Name] = { properties: r.Properties, containers, logicalId };
  }
  return out;
}

/** A container's environment as a plain object. */
export function envOf(container: ContainerDef): Record<string, unknown> {
  return Object.fromEntries((container.Environment ?? []).map(e => [e.Name, e.Value]));
}

/**
 * The worker pools the scheduler's queue-metrics sidecar publishes for (its JSON variable), with
 * every deploy-time value (the cluster name) shown as `<token>`.
 */
export function publishedPools(publisher: ContainerDef): any[] {
  const value = envOf(publisher).CDK_AIRFLOW_SCALING_POOLS as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof value === 'string' ? value : value['Fn::Join'][1].map(p => typeof p === 'string' ? p : '<token>').join('');
  return JSON.parse(text);
}

export function secretNamesOf(container: ContainerDef): string[] {
  return (container.Secrets ?? []).map(s => s.Name);
}

export const COMPONENTS = ['api-server', 'scheduler', 'dag-processor', 'triggerer', 'celery-worker'];

/**
 * Builds constructs in a new app, synthesizes it (which runs every construct's validation) and
 * returns the error, or '' when synth succeeds. Problems are reported at synth, all at once.
 */
export function synthError(build: (stack: Stack) => void): string {
  const app = new App();
  const stack = new Stack(app, 'S');
  try {
    build(stack);
    app.synth();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The upstream image an ECS container image reference runs: for an ECR copy made by the stack
 * (ImageMirror.ecr()), the source of the `Custom::CDKECRDeployment` that writes that repository and
 * tag; a plain name as it is.
 */
export function upstreamImage(template: Template, image: any): string {
  if (typeof image === 'string') return image;
  const parts: any[] = image?.['Fn::Join']?.[1] ?? [];
  const repository = parts.find(p => p?.Ref)?.Ref;
  const tag = parts[parts.length - 1];
  const copy = Object.values<any>(template.findResources('Custom::CDKECRDeployment')).find(r => {
    const dest: any[] = r.Properties.DestImage['Fn::Join'][1];
    return dest.some(p => p?.Ref === repository) && dest[dest.length - 1] === tag;
  });
  if (!copy) throw new Error(`no ECR copy writes ${JSON.stringify(image)}`);
  return String(copy.Properties.SrcImage).replace(/^docker:\/\//, '');
}
