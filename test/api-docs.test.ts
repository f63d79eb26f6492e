/**
 * Every public prop is documented, and every optional one says its default with `@default`
 * (the promise users read in API.md and in their IDE).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', 'src');

/** The modules `src/index.ts` re-exports: the public API. */
function sourceFiles(): string[] {
  const index = fs.readFileSync(path.join(SRC, 'index.ts'), 'utf8');
  return [...index.matchAll(/export \* from '\.\/(.+)';/g)].map(m => path.join(SRC, `${m[1]}.ts`));
}

interface PropDoc { where: string; optional: boolean; hasDoc: boolean; hasDefault: boolean }

function exportedInterfaceProps(): PropDoc[] {
  const out: PropDoc[] = [];
  for (const file of sourceFiles()) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    source.forEachChild(node => {
      if (!ts.isInterfaceDeclaration(node)) return;
      if (!node.modifiers?.some(m => m.kind === ts.SyntaxKind.ExportKeyword)) return;
      for (const member of node.members) {
        if (!ts.isPropertySignature(member)) continue;
        const docs = ts.getJSDocCommentsAndTags(member);
        const text = docs.map(d => d.getText()).join('\n');
        out.push({
          where: `${path.relative(SRC, file)} ${node.name.text}.${member.name.getText()}`,
          optional: member.questionToken !== undefined,
          hasDoc: docs.length > 0 && /\*\s+\S/.test(text),
          hasDefault: /@default\s+\S/.test(text),
        });
      }
    });
  }
  return out;
}

const props = exportedInterfaceProps();

test('finds the props of the public structs', () => {
  expect(props.length).toBeGreaterThan(40);
});

test.each(props.map(p => [p.where, p] as const))('%s is documented', (_where, p) => {
  expect(p.hasDoc).toBe(true);
  if (p.optional) expect(p.hasDefault).toBe(true);
});
