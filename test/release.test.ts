/**
 * The release configuration projen generates from .projenrc.ts (DEVELOPERS.md "Releasing"): one
 * publish job per registry in .github/workflows/release.yml, each packaging its language from the
 * build artifact and publishing it with publib and its registry's secrets; and a compile task that
 * fails on any jsii warning. Read from the committed files, which are what GitHub and `npx projen`
 * run.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const workflow = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

/** The jobs of the workflow, each as its own block of lines (projen writes two-space YAML). */
function jobs(yaml: string): Record<string, string> {
  const body = yaml.slice(yaml.indexOf('\njobs:\n') + '\njobs:\n'.length);
  const result: Record<string, string> = {};
  for (const block of body.split(/\n(?=  [a-z_]+:\n)/)) {
    const name = /^ {2}([a-z_]+):\n/.exec(block)?.[1];
    if (name) result[name] = block;
  }
  return result;
}
const secretsOf = (job: string) => [...job.matchAll(/\$\{\{ secrets\.([A-Z_]+) \}\}/g)].map(m => m[1]).sort();

const REGISTRIES = [
  { job: 'release_npm', language: 'js', publib: 'publib-npm', secrets: ['NPM_TOKEN'] },
  { job: 'release_pypi', language: 'python', publib: 'publib-pypi', secrets: ['TWINE_PASSWORD', 'TWINE_USERNAME'] },
  {
    job: 'release_maven',
    language: 'java',
    publib: 'publib-maven',
    secrets: ['MAVEN_GPG_PRIVATE_KEY', 'MAVEN_GPG_PRIVATE_KEY_PASSPHRASE', 'MAVEN_PASSWORD', 'MAVEN_STAGING_PROFILE_ID', 'MAVEN_USERNAME'],
  },
  { job: 'release_nuget', language: 'dotnet', publib: 'publib-nuget', secrets: ['NUGET_API_KEY'] },
  { job: 'release_golang', language: 'go', publib: 'publib-golang', secrets: ['GO_GITHUB_TOKEN'] },
];

describe('the release workflow', () => {
  const all = jobs(workflow);

  test('is started by hand (Actions > release > Run workflow, with a dry-run option), never by a push', () => {
    const on = workflow.slice(workflow.indexOf('\non:\n'), workflow.indexOf('\njobs:\n'));
    expect(on).toContain('workflow_dispatch:');
    expect(on).toContain('dry_run:');
    expect(on).not.toMatch(/^ {2}(push|schedule):/m);
  });

  test('builds the release from main with `npx projen release` (version bump, compile, tests, packages)', () => {
    expect(all.release).toContain('run: npx projen release');
    expect(tasks.release.description).toContain('"main" branch');
  });

  test('stays on 0.x: the bump keeps the major version at 0', () => {
    expect(tasks.release.env.MAJOR).toBe('0');
  });

  test('has exactly one publish job per registry, plus the GitHub release', () => {
    expect(Object.keys(all).sort()).toEqual(['release', 'release_github', ...REGISTRIES.map(r => r.job)].sort());
  });

  test.each(REGISTRIES.map(r => [r.job, r]))('%s packages its language from the build artifact and publishes it with its secrets', (_job, registry) => {
    const job = all[registry.job];
    expect(job).toMatch(/needs: release\n/);
    expect(job).toContain(`run: cd .repo && npx projen package:${registry.language}`);
    expect(job).toContain(`'publib@latest' '${registry.publib}'`);
    expect(job).toContain('PUBLIB_DRYRUN: ${{ inputs.dry_run }}');
    expect(secretsOf(job)).toEqual(registry.secrets);
    expect(tasks[`package:${registry.language}`].steps[0].execArgs).toEqual(['jsii-pacmak', '-v', '--target', registry.language]);
  });

  test('Maven publishes to Maven Central through the Central Portal', () => {
    expect(all.release_maven).toContain('MAVEN_SERVER_ID: central-ossrh');
  });
});

describe('jsii', () => {
  test('the compile task fails on any jsii warning and silences none (projen silences reserved words by default)', () => {
    const steps = tasks.compile.steps.map((s: { exec?: string }) => s.exec);
    expect(steps).toEqual(['jsii --fail-on-warnings']);
  });

  test('the packages jsii-pacmak builds are the ones the release publishes', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.jsii.targets).sort()).toEqual(['dotnet', 'go', 'java', 'python']);
    expect(pkg.jsii.metadata.jsii.rosetta.strict).toBe(true);
  });
});
