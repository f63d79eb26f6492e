/**
 * Every TypeScript example in the README type-checks against the library and runs (synthesizes),
 * so what users copy works: a ```ts nofixture block runs as a program, a ```ts fragment runs inside
 * the stack of rosetta/default.ts-fixture, which has `storage` (an AirflowStorage) in scope, as the
 * README's examples assume. test/rosetta.test.ts translates the same blocks into every language.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(__dirname, '.readme-snippets');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
/** The README's TypeScript blocks: ```ts (a fragment, run in the fixture) or ```ts nofixture (a whole program). */
const snippets = [...readme.matchAll(/```ts( nofixture)?\n([\s\S]*?)```/g)].map(m => ({ program: m[1] !== undefined, source: m[2] }));

/** The jsii-rosetta fixture (rosetta/default.ts-fixture): the same stack, with `storage` in scope, for both checks. */
const FIXTURE = fs.readFileSync(path.join(ROOT, 'rosetta', 'default.ts-fixture'), 'utf8');

function program(snippet: { program: boolean; source: string }): string {
  const source = snippet.program ? snippet.source : FIXTURE.replace(/^\s*\/\/\/ here\s*$/m, () => snippet.source.split('\n').map(l => `    ${l}`).join('\n'));
  return source.replace(/from 'cdk-airflow-ecs'/g, "from '../../src'");
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

test('a block with imports is a whole program, marked ```ts nofixture for jsii-rosetta', () => {
  expect(snippets.filter(s => !s.program && /^import /m.test(s.source)).map(s => s.source)).toEqual([]);
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
