// Prints a short summary of a synthesized cloud assembly: its stacks, their resource counts and
// each Airflow component's size. Used by `npm run example`.
import * as fs from 'fs';
import * as path from 'path';

export interface Template { Resources?: Record<string, { Type: string; Properties?: any; DependsOn?: string[] | string }> }

export interface ComponentSummary {
  stack: string;
  component: string;
  cpu: string;
  memoryMiB: string;
  architecture: string;
  desiredCount: string;
  scaling: string;
  spotPercent: number;
  /** The autoscaled range of a worker service; fixed services have none. */
  minCapacity?: number;
  maxCapacity?: number;
  /** The Celery queues of a worker service. */
  queues?: string[];
  /** The task's other containers (sidecars), each with its environment variables (CloudFormation functions as JSON). */
  sidecars: Record<string, Record<string, string>>;
}

export interface AssemblySummary {
  stacks: { name: string; resources: number; byType: Record<string, number> }[];
  components: ComponentSummary[];
  /** The Airflow images the components run. */
  images: string[];
}

export function stackTemplates(assemblyDir: string): { name: string; template: Template }[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8'));
  return Object.entries<any>(manifest.artifacts ?? {})
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([name, a]) => ({
      name,
      template: JSON.parse(fs.readFileSync(path.join(assemblyDir, a.properties.templateFile), 'utf8')) as Template,
    }));
}

function literal(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/**
 * An image reference as a reader knows it: a name as it is; an ECR copy the stack makes
 * (ImageMirror.ecr(), `Custom::CDKECRDeployment`) as the upstream name it copies.
 */
function imageName(image: unknown, resources: Record<string, any>): string {
  if (typeof image === 'string') return image;
  const parts: any[] = (image as any)?.['Fn::Join']?.[1] ?? [];
  const repository = parts.find(p => p?.Ref)?.Ref;
  const tag = parts[parts.length - 1];
  const copy = Object.values(resources).find(r => r.Type === 'Custom::CDKECRDeployment'
    && (r.Properties?.DestImage?.['Fn::Join']?.[1] ?? []).some((p: any) => p?.Ref === repository)
    && r.Properties.DestImage['Fn::Join'][1].slice(-1)[0] === tag);
  return copy ? `${String(copy.Properties.SrcImage).replace(/^docker:\/\//, '')} (copied to ECR)` : literal(image);
}

export function summarize(assemblyDir: string): AssemblySummary {
  const stacks: AssemblySummary['stacks'] = [];
  const components: ComponentSummary[] = [];
  const images = new Set<string>();
  for (const { name, template } of stackTemplates(assemblyDir)) {
    const resources = template.Resources ?? {};
    const byType: Record<string, number> = {};
    for (const r of Object.values(resources)) byType[r.Type] = (byType[r.Type] ?? 0) + 1;
    stacks.push({ name, resources: Object.keys(resources).length, byType });

    const targets = Object.values(resources).filter(r => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget');
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::ECS::Service') continue;
      const tdRef = r.Properties?.TaskDefinition?.Ref;
      const td = tdRef ? resources[tdRef] : undefined;
      if (!td) continue;
      // the component's container first; a compact control plane's dag-processor task runs the triggerer too
      const essentials = (td.Properties.ContainerDefinitions ?? []).filter((c: any) => c.Essential !== false);
      const essential = essentials[0];
      if (essential) images.add(imageName(essential.Image, resources));
      const serviceId = Object.keys(resources).find(k => resources[k] === r)!;
      const target = targets.find(t => JSON.stringify(t.Properties?.ResourceId ?? '').includes(`"${serviceId}"`));
      const strategy: any[] | undefined = r.Properties?.CapacityProviderStrategy;
      const spotWeight = strategy?.find(s => s.CapacityProvider === 'FARGATE_SPOT')?.Weight ?? 0;
      const totalWeight = strategy?.reduce((n, s) => n + (s.Weight ?? 0), 0) ?? 0;
      const command: unknown[] = essential?.Command ?? [];
      const queuesAt = command.indexOf('--queues');
      const sidecars: ComponentSummary['sidecars'] = {};
      for (const c of td.Properties.ContainerDefinitions ?? []) {
        if (essentials.includes(c)) continue;
        // values that are CloudFormation functions are kept as their JSON
        sidecars[c.Name] = Object.fromEntries((c.Environment ?? []).map((e: any) => [e.Name, literal(e.Value)]));
      }
      components.push({
        stack: name,
        sidecars,
        component: essentials.length > 0 ? essentials.map((c: any) => c.Name).join(' + ') : tdRef,
        queues: essential?.Name === 'celery-worker' ? (queuesAt >= 0 ? String(command[queuesAt + 1]).split(',') : ['default']) : undefined,
        scaling: target ? `${target.Properties.MinCapacity}–${target.Properties.MaxCapacity} on queue` : 'fixed',
        minCapacity: target ? Number(target.Properties.MinCapacity) : undefined,
        maxCapacity: target ? Number(target.Properties.MaxCapacity) : undefined,
        spotPercent: totalWeight > 0 ? Math.round(100 * spotWeight / totalWeight) : 0,
        cpu: literal(td.Properties.Cpu),
        memoryMiB: literal(td.Properties.Memory),
        architecture: literal(td.Properties.RuntimePlatform?.CpuArchitecture ?? 'X86_64'),
        desiredCount: literal(r.Properties?.DesiredCount ?? 1),
      });
    }
  }
  return { stacks, components, images: [...images] };
}

export function render(summary: AssemblySummary): string {
  const lines: string[] = [];
  const total = summary.stacks.reduce((n, s) => n + s.resources, 0);
  lines.push(`Synthesized ${summary.stacks.length} stacks, ${total} resources:`);
  for (const s of summary.stacks) {
    const top = Object.entries(s.byType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 6)
      .map(([t, n]) => `${n} ${t.replace(/^AWS::/, '')}`).join(', ');
    lines.push(`  ${s.name.padEnd(18)} ${String(s.resources).padStart(4)} resources (${top}, …)`);
  }
  lines.push('');
  lines.push(`Airflow components (one ECS Fargate service each), image ${summary.images.join(', ')}:`);
  // with several worker pools, each worker service is labelled with its queues
  const pools = summary.components.filter(c => c.queues).length > 1;
  const label = (c: ComponentSummary) => pools && c.queues ? `${c.component} (${c.queues.join(',')})` : c.component;
  const width = Math.max(15, ...summary.components.map(c => label(c).length));
  lines.push(`  ${'component'.padEnd(width)} ${'vCPU'.padStart(5)} ${'memory'.padStart(9)}  ${'arch'.padEnd(7)} ${'tasks'.padEnd(16)} capacity`);
  for (const c of summary.components) {
    const vcpu = Number(c.cpu) / 1024;
    const tasks = c.scaling === 'fixed' ? c.desiredCount : c.scaling;
    const capacity = c.spotPercent > 0 ? `${c.spotPercent}% Fargate Spot` : 'Fargate';
    lines.push(`  ${label(c).padEnd(width)} ${String(vcpu).padStart(5)} ${`${Number(c.memoryMiB) / 1024} GiB`.padStart(9)}  ${c.architecture.padEnd(7)} ${tasks.padEnd(16)} ${capacity}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const dir = process.argv[2] ?? 'cdk.out';
  console.log(render(summarize(dir)));
}
