/**
 * The README's examples in every language: `jsii-rosetta extract --strict` compiles each TypeScript
 * block of the README (as embedded in the jsii assembly) against the library, fragments inside
 * rosetta/default.ts-fixture, and translates it into Python, Java, C# and Go; strict mode fails on
 * any compile error or untranslatable construct. Translations are cached in
 * rosetta/cache.tabl.json (committed), so only changed examples are compiled again.
 *
 * Rosetta reads the README and the types from the compiled assembly (.jsii, lib/); when they are
 * missing (a fresh clone) or older than README.md or src/, the test compiles first with the
 * project's compile task (`jsii --fail-on-warnings`), which fails on any jsii warning.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const TABLET = path.join(ROOT, '.jsii.tabl.json');
const CACHE = path.join('rosetta', 'cache.tabl.json');
const LANGUAGES = ['python', 'java', 'csharp', 'go'];
const ENV = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

/** The README's TypeScript blocks as rosetta sees them: a block indented in a list loses its indentation. */
const blocks = [...README.matchAll(/^( *)```ts( nofixture)?\n([\s\S]*?)^\1```/gm)].map(m => ({
  line: README.slice(0, m.index).split('\n').length,
  source: m[3].split('\n').map(l => l.slice(m[1].length)).join('\n').trimEnd(),
}));

interface Snippet { readonly didCompile?: boolean; readonly translations: Record<string, { source: string }> }
let rosetta: { status: number | null; output: string };
let snippets: Snippet[] = [];

/** Newest modification time of the files under a folder. */
function newest(dir: string): number {
  return Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true }).map(e => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs;
  }));
}

/** Compiles when the assembly is missing or older than the README or the sources. */
function compileIfStale(): void {
  const file = path.join(ROOT, '.jsii');
  const fresh = fs.existsSync(file)
    && JSON.parse(fs.readFileSync(file, 'utf8')).readme?.markdown === README
    && fs.statSync(file).mtimeMs >= newest(path.join(ROOT, 'src'));
  if (fresh) return;
  const run = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'projen'), ['compile'], { cwd: ROOT, encoding: 'utf8', env: ENV });
  if (run.status !== 0) {
    throw new Error(`npx projen compile failed:\n${run.stdout}${run.stderr}`);
  }
}

beforeAll(() => {
  compileIfStale();
  fs.rmSync(TABLET, { force: true });
  const run = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'jsii-rosetta'), ['extract', '--strict', '--cache', CACHE, '--trim-cache', '.'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: ENV,
  });
  rosetta = { status: run.status, output: `${run.stdout}${run.stderr}`.split('\n').filter(l => !l.startsWith('!!')).join('\n') };
  if (fs.existsSync(TABLET)) {
    snippets = Object.values(JSON.parse(fs.readFileSync(TABLET, 'utf8')).snippets);
  }
}, 600_000);

test('jsii-rosetta extract --strict passes: every README example compiles and translates', () => {
  expect(rosetta.output).not.toMatch(/error TS|\[ERROR\]/);
  expect(rosetta.status).toBe(0);
});

test('the README has TypeScript examples, and jsii-rosetta saw each of them', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(10);
  expect(snippets.length).toBe(blocks.length);
});

test.each(blocks.map(b => [b.line, b]))('the example at README.md line %i translates into Python, Java, C# and Go', (_line, block) => {
  const snippet = snippets.find(s => s.translations.$?.source === block.source);
  expect(snippet).toBeDefined();
  expect(snippet!.didCompile).toBe(true);
  for (const language of LANGUAGES) {
    expect(snippet!.translations[language]?.source?.trim()).toBeTruthy();
  }
});

describe('the Python example beside the first TypeScript one', () => {
  const python = /```python\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
  const pythonAt = README.indexOf('```python\n');
  const typescript = blocks.filter(b => b.line < README.slice(0, pythonAt).split('\n').length).pop();
  const words = (code: string) => code.split('\n').map(l => l.replace(/#.*$/, '').trimEnd()).filter(l => l !== '');

  test('follows a TypeScript example in the README\'s first section', () => {
    expect(python).toContain('from cdk_airflow_ecs import');
    expect(typescript).toBeDefined();
    expect(README.slice(0, pythonAt).match(/^## /gm)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  test('is jsii-rosetta\'s Python translation of it (the same classes, arguments and keyword names)', () => {
    const translated = snippets.find(s => s.translations.$?.source === typescript!.source)?.translations.python?.source ?? '';
    expect(words(python)).toEqual(words(translated));
  });

  test('is valid Python', () => {
    const run = spawnSync('/usr/bin/python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: python, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
