/**
 * Every TypeScript example in the README type-checks against the library and runs (synthesizes),
 * so what users copy works: a snippet with imports runs as a program, a fragment runs inside a
 * stack that has `storage` (an AirflowStorage) in scope, as the README's examples assume.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(__dirname, '.readme-snippets');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map(m => m[1]);

const FIXTURE_IMPORTS = `import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import {
  AirflowComponent, AirflowImage, AirflowOnEcs, AirflowService, AirflowStorage, AirflowVersion, DagSource, GitCredentials, ImageMirror, SecretsBackend, SingleSignOn, Smtp, SmtpEncryption, WebAccess,
} from '../../src';
void [CfnOutput, Duration, cloudwatch, ecs, secretsmanager, sns, subscriptions, AirflowComponent, AirflowImage, AirflowOnEcs, AirflowService, AirflowVersion, DagSource, GitCredentials, ImageMirror, SecretsBackend, SingleSignOn, Smtp, SmtpEncryption, WebAccess];
`;

function program(snippet: string): string {
  if (/^import /m.test(snippet)) {
    return snippet.replace(/from 'cdk-airflow-ecs'/g, "from '../../src'");
  }
  return `${FIXTURE_IMPORTS}
class Fixture extends Stack {
  constructor() {
    super(new App(), 'Fixture');
    const storage = new AirflowStorage(this, 'FixtureStorage');
${snippet.split('\n').map(l => `    ${l}`).join('\n')}
  }
}
new Fixture();
`;
}

const files = snippets.map((snippet, i) => {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `snippet-${i + 1}.ts`);
  fs.writeFileSync(file, program(snippet));
  return file;
});

afterAll(() => fs.rmSync(OUT, { recursive: true, force: true }));

test('the README has TypeScript examples', () => {
  expect(snippets.length).toBeGreaterThanOrEqual(5);
});

test('every example type-checks', () => {
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.dev.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const options = { ...parsed.options, noEmit: true, noUnusedLocals: false };
  const prog = ts.createProgram(files, options);
  const diagnostics = ts.getPreEmitDiagnostics(prog)
    .filter(d => d.file && d.file.fileName.startsWith(OUT))
    .map(d => `${path.basename(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}\n${fs.readFileSync(d.file!.fileName, 'utf8')}`);
  expect(diagnostics).toEqual([]);
});

test.each(files.map((f, i) => [i + 1, f]))('example %i runs without a synth error', (_i, file) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  expect(() => require(file)).not.toThrow();
});
