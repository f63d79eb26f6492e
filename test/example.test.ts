/**
 * The README's main job: the basic example synthesizes with the real CDK CLI, without AWS
 * credentials, into two stacks with the five components, and the summary reports them.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { estimateCost, loadPrices } from '../scripts/cost/estimate';
import { report } from '../scripts/example-report';
import { render, summarize } from '../scripts/summarize-assembly';

/** Synthesizes an example app with the real CDK CLI and no AWS credentials; returns the assembly dir. */
function synthExample(name: string): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `cdk-airflow-ecs-example-${name}-`));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  execFileSync(path.join(__dirname, '..', 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', outdir],
    { cwd: path.join(__dirname, '..', 'examples', name), env: { ...env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' }, stdio: 'pipe' });
  return outdir;
}

let outdir: string;
let gitSyncOutdir: string;
let poolsOutdir: string;
beforeAll(() => {
  outdir = synthExample('basic');
  gitSyncOutdir = synthExample('git-sync');
  poolsOutdir = synthExample('worker-pools');
}, 300_000);

afterAll(() => {
  for (const dir of [outdir, gitSyncOutdir, poolsOutdir]) fs.rmSync(dir, { recursive: true, force: true });
});

// pitfall #28: Configuration only validated by deploying (local Docker Compose)
test('examples/basic synthesizes a storage stack and a services stack', () => {
  const summary = summarize(outdir);
  expect(summary.stacks.map(s => s.name)).toEqual(['AirflowStorage', 'AirflowServices']);
  const storage = summary.stacks[0].byType;
  expect(storage['AWS::RDS::DBInstance']).toBe(1);
  expect(storage['AWS::ElastiCache::ReplicationGroup']).toBe(1);
  expect(storage['AWS::ECS::Service']).toBeUndefined();
  expect(summary.stacks[1].byType['AWS::ECS::Service']).toBe(5);
});

test('the summary lists each component with CPU, memory, architecture and count', () => {
  const summary = summarize(outdir);
  expect(summary.components.map(c => [c.component, c.cpu, c.memoryMiB, c.architecture, c.desiredCount, c.scaling, c.spotPercent])).toEqual([
    ['api-server', '512', '1024', 'ARM64', '1', 'fixed', 0],
    ['scheduler', '512', '1024', 'ARM64', '1', 'fixed', 0],
    ['dag-processor', '512', '1024', 'ARM64', '1', 'fixed', 0],
    ['triggerer', '256', '1024', 'ARM64', '1', 'fixed', 0],
    ['celery-worker', '1024', '3072', 'ARM64', '1', '0–10 on queue', 75],
  ]);
});

test('examples/git-sync synthesizes, with git-sync on the dag-processor, triggerer and workers only', () => {
  const summary = summarize(gitSyncOutdir);
  expect(summary.stacks.map(s => s.name)).toEqual(['AirflowGitSyncStorage', 'AirflowGitSyncServices']);
  const services = JSON.parse(fs.readFileSync(path.join(gitSyncOutdir, 'AirflowGitSyncServices.template.json'), 'utf8'));
  const withSidecar = Object.values<any>(services.Resources)
    .filter(r => r.Type === 'AWS::ECS::TaskDefinition')
    .filter(r => r.Properties.ContainerDefinitions.some((c: any) => c.Name === 'git-sync'))
    .map(r => r.Properties.ContainerDefinitions.find((c: any) => c.Essential !== false && c.Name !== 'git-sync').Name)
    .sort();
  expect(withSidecar).toEqual(['celery-worker', 'dag-processor', 'triggerer']);
});

test('examples/worker-pools synthesizes a default and a heavy pool, and the summary lists both with their queues', () => {
  const summary = summarize(poolsOutdir);
  expect(summary.stacks.map(s => s.name)).toEqual(['AirflowPoolsStorage', 'AirflowPoolsServices']);
  const workers = summary.components.filter(c => c.component === 'celery-worker');
  expect(workers.map(c => [c.queues, c.cpu, c.memoryMiB, c.scaling, c.spotPercent])).toEqual([
    [['default'], '1024', '3072', '0–10 on queue', 75],
    [['heavy'], '4096', '16384', '0–3 on queue', 0],
  ]);
  const text = render(summary);
  expect(text).toMatch(/celery-worker \(default\) +1 +3 GiB +ARM64 +0–10 on queue +75% Fargate Spot/);
  expect(text).toMatch(/celery-worker \(heavy\) +4 +16 GiB +ARM64 +0–3 on queue +Fargate/);
  // one worker service: no queue labels (the README's basic summary)
  expect(render(summarize(outdir))).not.toContain('(default)');
});

test('the README shows what npm run example prints: the summary and the monthly cost', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  expect(readme).toContain(`\`\`\`text\n${report(outdir)}\n\`\`\``);
});

test('the cost of examples/basic lists each component, the database, broker, NAT, load balancer, metrics and secrets', () => {
  const text = report(outdir);
  for (const item of ['api-server:', 'scheduler:', 'dag-processor:', 'triggerer:', 'celery-worker: 0–10', 'database: db.t4g.small',
    'broker: 1 × cache.t4g.micro', 'EC2 instances (NAT): 1 × t4g.nano', 'load balancers: 1 ALB', 'custom metrics:', 'PutMetricData:', 'secrets:']) {
    expect(text).toContain(`  ${item}`);
  }
  expect(text).toMatch(/Amazon MWAA mw1\.small at \$0\.49\/hour: \$357\.70 a month; idle, this deployment costs \d+% of it\./);
});

// issue 14: idle, the basic example costs at most 40% of Amazon MWAA's smallest environment
test('idle, examples/basic costs at most 40% of MWAA mw1.small at the same list prices', () => {
  const estimate = estimateCost(outdir, loadPrices());
  expect(estimate.idlePercentOfMwaa).toBeLessThanOrEqual(40);
});
