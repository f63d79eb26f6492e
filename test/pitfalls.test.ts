/**
 * The story's pitfalls (docs/pitfalls.json) against the code: every row names tests that exist and
 * name the row, and the tables in docs/pitfalls.md and README.md are the ones rendered from the list.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FILES, pitfalls, pitfallsTable, ROOT, withTable } from '../scripts/pitfalls-table';

const rows = pitfalls();
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

test('lists the 50 pitfalls of the story, each id once', () => {
  expect(rows).toHaveLength(50);
  expect(new Set(rows.map(r => r.id)).size).toBe(50);
  for (const r of rows) expect(r.id).toMatch(/^\d+[a-z]?$/);
});

describe.each(rows.map(r => [r.id, r] as const))('pitfall #%s', (id, row) => {
  test('names test files that exist, each naming the row next to a test', () => {
    expect(row.tests.length).toBeGreaterThan(0);
    for (const file of row.tests) {
      expect(file).toMatch(/^test\/.*\.test\.ts$/);
      expect(file).not.toMatch(/^test\/local-ecs\//);
      expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
      const lines = read(file).split('\n');
      const mention = new RegExp(`pitfall #${id}(?![0-9A-Za-z])`);
      const at = lines.findIndex(l => mention.test(l));
      expect({ file, named: at >= 0 }).toEqual({ file, named: true });
      // the mention sits in a test's name or in the comment right above one (or above its case)
      const near = lines.slice(at, at + 6).join('\n');
      expect({ file, id, near: /\b(test|it|describe)(\.each\([^)]*\))?\(|^\s*\[/m.test(near) }).toEqual({ file, id, near: true });
    }
  });

  test('an e2e scenario it names exists', () => {
    if (row.e2e === undefined) return;
    expect(read('test/local-ecs/scenarios.ts')).toContain(`name: '${row.e2e}'`);
  });

  test('"documented" or "not a library\'s" only with a reason, in the row', () => {
    if (row.how === 'documented') expect(row.does).toMatch(/cannot/);
    if (row.how === 'n/a') expect(row.does).toMatch(/No build needed|npm run e2e|yours/);
  });
});

test.each(FILES)('%s holds exactly the table rendered from docs/pitfalls.json', file => {
  const text = read(file);
  expect(withTable(text)).toBe(text);
  expect(text).toContain(pitfallsTable());
});

test('the renderer fails on a file without the markers, so a lost table cannot pass', () => {
  expect(() => withTable('no table here')).toThrow(/pitfalls:start/);
});
