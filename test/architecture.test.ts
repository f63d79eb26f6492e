/**
 * The shape of src/: no import cycles (each concept in its folder, options in leaf files, shared
 * helpers in private/), and private/ holding only what two or more concepts use.
 */
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', 'src');

function sourceFiles(dir: string = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The files a file imports from src (type-only imports included). */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    const target = path.resolve(path.dirname(file), m[1]);
    out.push(fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts'));
  }
  return out;
}

const graph = new Map(sourceFiles().map(f => [f, imports(f)]));
const rel = (f: string) => path.relative(SRC, f);

test('src has no import cycle', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...stack.slice(stack.indexOf(f)), f].map(rel).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    stack.push(f);
    for (const g of graph.get(f) ?? []) visit(g);
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f);
  expect(cycles).toEqual([]);
});

test('every file in src/private is used by two or more concepts (folders) or by another private helper', () => {
  const concept = (f: string) => rel(f).split(path.sep)[0].replace(/\.ts$/, '');
  const lonely: string[] = [];
  for (const f of graph.keys()) {
    if (concept(f) !== 'private') continue;
    const users = new Set([...graph].filter(([, deps]) => deps.includes(f)).map(([g]) => concept(g)));
    if (users.size < 2 && !users.has('private')) lonely.push(`${rel(f)} (used by ${[...users].join(', ') || 'nothing'})`);
  }
  expect(lonely).toEqual([]);
});

test('the graph was read: every folder of src appears', () => {
  const folders = new Set([...graph.keys()].map(f => rel(f).split(path.sep)[0]));
  expect([...folders].sort()).toEqual(expect.arrayContaining(['common', 'dags', 'git-sync', 'migration', 'private', 'scaling', 'service', 'storage', 'web-access']));
  expect([...graph.values()].flat().length).toBeGreaterThan(50);
});
