// Compares the cloud assemblies that examples/basic synthesizes in each language with TypeScript's
// (scripts/bindings/run.sh): the same stacks, in each the same resources (logical ids and types),
// and otherwise the same templates. Prints one line per language and stack, every difference, and
// exits 1 if there is any.
//   ts-node scripts/bindings/compare.ts <typescript cdk.out> <other cdk.out>...
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Template {
  readonly Resources?: Record<string, { readonly Type: string }>;
  readonly [key: string]: Json | undefined;
}

/** The stacks' templates of a cloud assembly, by stack name. */
function templates(assembly: string): Map<string, Template> {
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly, 'manifest.json'), 'utf8'));
  const result = new Map<string, Template>();
  for (const [name, artifact] of Object.entries<any>(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    result.set(name, JSON.parse(fs.readFileSync(path.join(assembly, artifact.properties.templateFile), 'utf8')));
  }
  return result;
}

const RUNTIME = /(^|,)([^,!{}]+)!jsii-runtime\.Runtime/;

/**
 * CDKMetadata's Analytics property lists the constructs used and the language runtime the app ran
 * in (`node.js/v20.20.2!jsii-runtime.Runtime`, `Python/3.11.7!jsii-runtime.Runtime`): the one part of
 * a template that must differ between languages. Returns the template with the runtime taken out of
 * every Analytics string, and the runtimes it found.
 */
function withoutRuntime(template: Template): { template: Template; runtimes: string[] } {
  const copy = JSON.parse(JSON.stringify(template)) as Template;
  const runtimes: string[] = [];
  for (const resource of Object.values<any>(copy.Resources ?? {})) {
    const analytics = resource.Type === 'AWS::CDK::Metadata' ? resource.Properties?.Analytics : undefined;
    if (typeof analytics !== 'string' || !analytics.startsWith('v2:deflate64:')) continue;
    const decoded = zlib.gunzipSync(Buffer.from(analytics.slice('v2:deflate64:'.length), 'base64')).toString();
    const match = RUNTIME.exec(decoded);
    if (match) runtimes.push(match[2]);
    resource.Properties.Analytics = decoded.replace(RUNTIME, '');
  }
  return { template: copy, runtimes };
}

/** Every path at which two JSON values differ, with both values (shortened). */
function differences(a: Json | undefined, b: Json | undefined, at: string, out: string[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[key], b[key], `${at}.${key}`, out);
  } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((item, i) => differences(item, b[i], `${at}[${i}]`, out));
  } else {
    const show = (v: Json | undefined) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 160));
    out.push(`${at}: typescript ${show(a)}, here ${show(b)}`);
  }
}

function main(): number {
  const [reference, ...others] = process.argv.slice(2);
  if (!reference || others.length === 0) {
    console.error('usage: compare.ts <typescript cdk.out> <other cdk.out>...');
    return 2;
  }
  const expected = templates(reference);
  let failed = false;
  for (const other of others) {
    const language = path.basename(other);
    const actual = templates(other);
    const stacks = [...new Set([...expected.keys(), ...actual.keys()])].sort();
    for (const stack of stacks) {
      const a = expected.get(stack);
      const b = actual.get(stack);
      if (!a || !b) {
        console.log(`${language} ${stack}: ${a ? 'missing' : 'not in the TypeScript app'}`);
        failed = true;
        continue;
      }
      const ids = (t: Template) => Object.entries(t.Resources ?? {}).map(([id, r]) => `${id} ${r.Type}`).sort();
      const missing = ids(a).filter(r => !ids(b).includes(r));
      const extra = ids(b).filter(r => !ids(a).includes(r));
      const diffs: string[] = [];
      const ta = withoutRuntime(a);
      const tb = withoutRuntime(b);
      differences(ta.template as Json, tb.template as Json, stack, diffs);
      const resources = ids(a).length;
      if (missing.length === 0 && extra.length === 0 && diffs.length === 0) {
        const runtimes = JSON.stringify(ta.runtimes) === JSON.stringify(tb.runtimes) ? ''
          : ` but for the runtime CDKMetadata records (${ta.runtimes.join(', ')} there, ${tb.runtimes.join(', ')} here)`;
        console.log(`${language} ${stack}: ${resources} resources, template identical to TypeScript's${runtimes}`);
        continue;
      }
      failed = true;
      console.log(`${language} ${stack}: ${missing.length} resources missing, ${extra.length} extra, ${diffs.length} differences`);
      for (const r of missing) console.log(`  missing: ${r}`);
      for (const r of extra) console.log(`  extra: ${r}`);
      for (const d of diffs.slice(0, 40)) console.log(`  ${d}`);
      if (diffs.length > 40) console.log(`  ... and ${diffs.length - 40} more`);
    }
  }
  return failed ? 1 : 0;
}

process.exit(main());
