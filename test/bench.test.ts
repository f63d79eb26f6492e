/**
 * The pieces of `npm run bench` (scripts/bench.ts), run fast: the bench itself synthesizes
 * examples/basic many times and runs the CDK CLI, which is too slow for `npm test`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { buildBaseline, median, renderSizes, RESOURCES_LIMIT, TEMPLATE_BYTES_LIMIT, templateSizes, timeSynth } from '../scripts/bench';

test('median: the middle value, or the mean of the two middle ones, whatever the order', () => {
  expect(median([5, 1, 3])).toBe(3);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(() => median([])).toThrow();
});

test('template sizes: bytes of each stack template on disk and its resource count, against CloudFormation limits', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-bench-test-'));
  try {
    const app = new App({ outdir });
    buildBaseline(app);
    const stack = new Stack(app, 'Empty');
    stack.templateOptions.description = 'nothing';
    app.synth();
    const sizes = templateSizes(outdir);
    expect(sizes.map(s => s.stack)).toEqual(['Baseline', 'Empty']);
    const baseline = JSON.parse(fs.readFileSync(path.join(outdir, 'Baseline.template.json'), 'utf8'));
    expect(sizes[0].resources).toBe(Object.keys(baseline.Resources).length);
    expect(sizes[0].bytes).toBe(fs.statSync(path.join(outdir, 'Baseline.template.json')).size);
    const text = renderSizes(sizes).join('\n');
    const escaped = (n: number) => n.toFixed(1).replace('.', '\\.');
    expect(text).toMatch(new RegExp(`${sizes[0].resources} resources \\( *${escaped(100 * sizes[0].resources / RESOURCES_LIMIT)}% of 500\\)`));
    expect(text).toMatch(new RegExp(`\\( *${escaped(100 * sizes[0].bytes / TEMPLATE_BYTES_LIMIT)}% of 1 MiB\\)`));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});

test('timeSynth measures a synthesis that writes a cloud assembly, and cleans up after itself', () => {
  let outdir = '';
  const ms = timeSynth(app => { buildBaseline(app); outdir = app.outdir; });
  expect(ms).toBeGreaterThan(0);
  expect(outdir).not.toBe('');
  expect(fs.existsSync(outdir)).toBe(false);
});
