/**
 * aws-cdk-lib's built-in CloudFormation validation (resource schemas plus AWS's rules, shipped
 * from aws-cdk-lib 2.27x), run on the templates the library synthesizes: nothing at warning level
 * or above. The library builds against aws-cdk-lib 2.257, so the validator comes from an aliased
 * aws-cdk-lib 2.276 and reads the synthesized template files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { createApp as basicApp } from '../../examples/basic/app';
import { createApp as gitSyncApp } from '../../examples/git-sync/app';
import { createApp as workerPoolsApp } from '../../examples/worker-pools/app';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CloudFormationValidatePlugin } = require('aws-cdk-lib-2-276');

async function validate(templatePaths: string[]): Promise<string[]> {
  const report = await new CloudFormationValidatePlugin().validate({
    templatePaths,
    stackTemplates: templatePaths.map(p => ({ templatePath: p, stackName: path.basename(p, '.template.json'), stackConstructPath: path.basename(p) })),
  });
  return report.violations.map((v: any) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r: any) => r.resourceLogicalId).join(',')}: ${v.description}`);
}

function templatesOf(app: App): string[] {
  const assembly = app.synth();
  return assembly.stacks.map(s => path.join(assembly.directory, s.templateFile));
}

test('the validator is live: it reports a broken template', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-airflow-ecs-cfn-'));
  const file = path.join(dir, 'Broken.template.json');
  fs.writeFileSync(file, JSON.stringify({ Resources: { B: { Type: 'AWS::S3::Bucket', Properties: { NotAProperty: true } } } }));
  expect(await validate([file])).toEqual([expect.stringMatching(/^error F3002 B: NotAProperty/)]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.each<[string, () => App]>([
  ['examples/basic', () => basicApp()],
  ['examples/git-sync', () => gitSyncApp()],
  ['examples/worker-pools', () => workerPoolsApp()],
])('%s: no finding at warning level or above', async (_name, app) => {
  const findings = await validate(templatesOf(app()));
  expect(findings.filter(f => /^(warning|error)/.test(f))).toEqual([]);
});
