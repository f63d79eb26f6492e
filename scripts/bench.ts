// `npm run bench [-- --runs N]`: how long examples/basic takes to synthesize, in process against a
// bare ecs_patterns.ApplicationLoadBalancedFargateService in the same run (medians, and their ratio),
// and with the CDK CLI (wall time, as `npm run example` runs it); how its templates compare with
// CloudFormation's limits; and its monthly cost (scripts/cost).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import { CostEstimate, estimateCost, renderCost } from './cost/estimate';
import { stackTemplates } from './summarize-assembly';
import { createApp } from '../examples/basic/app';

/** CloudFormation's limits: a template body uploaded through S3 (as the CDK deploys) and resources per stack. */
export const TEMPLATE_BYTES_LIMIT = 1_048_576;
export const RESOURCES_LIMIT = 500;
/** The issue's goal for the in-process synth ratio. */
export const RATIO_GOAL = 2.5;

const ROOT = path.join(__dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'basic');

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function tmpdir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cdk-airflow-ecs-bench-${label}-`));
}

/** Milliseconds one synthesis takes, from constructing the app to a written cloud assembly. */
export function timeSynth(build: (app: App) => void): number {
  const outdir = tmpdir('synth');
  try {
    const started = process.hrtime.bigint();
    const app = new App({ outdir, context: JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'cdk.json'), 'utf8')).context });
    build(app);
    app.synth();
    return Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

export const buildExample = (app: App) => { createApp(app); };

/** The smallest thing that deploys one web container on Fargate behind a load balancer (with its own VPC). */
export const buildBaseline = (app: App) => {
  new ecsPatterns.ApplicationLoadBalancedFargateService(new Stack(app, 'Baseline'), 'Service', {
    taskImageOptions: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:latest') },
  });
};

/** Alternates the two builds (after one warm-up each, which loads the modules) and returns the medians. */
export function compareSynth(runs: number): { example: number[]; baseline: number[]; ratio: number } {
  timeSynth(buildExample);
  timeSynth(buildBaseline);
  const example: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    example.push(timeSynth(buildExample));
    baseline.push(timeSynth(buildBaseline));
  }
  return { example, baseline, ratio: median(example) / median(baseline) };
}

/** Synthesizes examples/basic with the CDK CLI, as `npm run example` does; wall time in ms. */
export function cliSynth(outdir: string): number {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') && !k.endsWith('_FILE')) delete env[k];
  const started = process.hrtime.bigint();
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', outdir], { cwd: EXAMPLE, env, stdio: 'pipe' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export interface TemplateSize { stack: string; bytes: number; resources: number }

export function templateSizes(assemblyDir: string): TemplateSize[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8'));
  return stackTemplates(assemblyDir).map(({ name, template }) => ({
    stack: name,
    bytes: fs.statSync(path.join(assemblyDir, manifest.artifacts[name].properties.templateFile)).size,
    resources: Object.keys(template.Resources ?? {}).length,
  }));
}

export function renderSizes(sizes: TemplateSize[]): string[] {
  const pct = (n: number, of: number) => `${(100 * n / of).toFixed(1)}%`;
  return sizes.map(s => `  ${s.stack.padEnd(18)} ${`${(s.bytes / 1024).toFixed(0)} KiB`.padStart(9)} (${pct(s.bytes, TEMPLATE_BYTES_LIMIT).padStart(5)} of 1 MiB)`
    + `  ${String(s.resources).padStart(4)} resources (${pct(s.resources, RESOURCES_LIMIT).padStart(5)} of ${RESOURCES_LIMIT})`);
}

function main() {
  const at = process.argv.indexOf('--runs');
  const runs = at >= 0 ? Number(process.argv[at + 1]) : 7;
  const ms = (n: number) => `${Math.round(n)} ms`;
  const lines: string[] = [];
  const synth = compareSynth(runs);
  lines.push(`In-process synth, median of ${runs} runs each (after one warm-up), Node ${process.version}, ${os.cpus().length} CPUs:`);
  lines.push(`  examples/basic (2 stacks)                               ${ms(median(synth.example)).padStart(8)}`);
  lines.push(`  bare ecs_patterns.ApplicationLoadBalancedFargateService ${ms(median(synth.baseline)).padStart(8)}`);
  lines.push(`  ratio ${synth.ratio.toFixed(2)}× (goal: at most ${RATIO_GOAL}×) ${synth.ratio <= RATIO_GOAL ? 'met' : 'NOT MET'}`);
  const outdir = tmpdir('cli');
  try {
    const wall = cliSynth(outdir);
    lines.push('');
    lines.push(`CDK CLI synth of examples/basic (cdk synth --quiet, ts-node app): ${(wall / 1000).toFixed(1)} s wall time`);
    lines.push('');
    lines.push('Templates against CloudFormation\'s limits (1 MiB template body through S3, 500 resources a stack):');
    lines.push(...renderSizes(templateSizes(outdir)));
    lines.push('');
    const defaults = estimateCost(outdir);
    lines.push(renderCost(defaults));
    lines.push('');
    lines.push(compactLine(defaults));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
  console.log(lines.join('\n'));
}

/** The same example with `compactControlPlane: true`, priced the same way. */
export function compactLine(defaults: CostEstimate): string {
  const outdir = tmpdir('compact');
  try {
    const app = new App({ outdir });
    createApp(app, { compactControlPlane: true });
    app.synth();
    const compact = estimateCost(outdir);
    const shared = compact.lines.find(l => l.item.startsWith('dag-processor + triggerer'));
    return `With compactControlPlane: true (${shared?.item ?? 'no shared task'}): idle $${compact.idle.toFixed(2)}, `
      + `${compact.idlePercentOfMwaa.toFixed(0)}% of ${compact.mwaa.environmentClass}; $${(defaults.idle - compact.idle).toFixed(2)} a month less than the defaults.`;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
