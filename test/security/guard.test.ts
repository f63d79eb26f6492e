/**
 * The AWS Control Tower proactive controls, as cfn-guard rules (@cdklabs/cdk-validator-cfnguard),
 * on both example apps: the controls not met are exactly the documented, deliberate exceptions
 * (README "Security checks", GUARD_EXCEPTIONS), so a new violation fails here.
 */
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { createApp as basicApp } from '../../examples/basic/app';
import { createApp as gitSyncApp } from '../../examples/git-sync/app';
import { createApp as workerPoolsApp } from '../../examples/worker-pools/app';
import { GUARD_EXCEPTIONS } from '../../scripts/readme-defaults';
import { AirflowStorage } from '../../src';

function violations(app: App): string[] {
  const assembly = app.synth();
  const report = new CfnGuardValidator({ controlTowerRulesEnabled: true }).validate({
    templatePaths: assembly.stacks.map(s => path.join(assembly.directory, s.templateFile)),
  } as any);
  return [...new Set(report.violations.map(v => /\[(CT\.[A-Z0-9.]+)\]/.exec(v.description ?? '')?.[1] ?? v.ruleName))].sort();
}

const documented = Object.keys(GUARD_EXCEPTIONS).sort();

test.each([['examples/basic', basicApp], ['examples/worker-pools', workerPoolsApp]])('%s: only the documented exceptions', (_name, app) => {
  expect(violations(app())).toEqual(documented.filter(id => id !== 'CT.ECS.PR.3'));
});

test('examples/git-sync: only the documented exceptions (plus the root prepare step)', () => {
  expect(violations(gitSyncApp())).toEqual(documented);
});

test('database.encryptionKey meets CT.RDS.PR.30', () => {
  const app = new App();
  const stack = new Stack(app, 'S');
  new AirflowStorage(stack, 'Storage', { database: { encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }) } });
  expect(violations(app)).not.toContain('CT.RDS.PR.30');
});
