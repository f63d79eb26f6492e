/**
 * The configuration the library writes, checked per supported Airflow release against that
 * release's own option reference (test/fixtures/airflow-config/<version>.json, generated from the
 * real packages by scripts/airflow-config-reference/generate.sh), and users' variables checked the
 * same way at synth.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { envOf, synthError, taskDefinitions } from './util';
import { fixturesByMinor, libraryIndex, ASSETS, FIXTURES } from '../scripts/airflow-config-reference/library-index';
import { AirflowImage, AirflowOnEcs, AirflowOnEcsProps, AirflowVersion, DagSource, WebAccess } from '../src';

interface OptionRow { env: string; sensitive: boolean; supports_cmd_secret: boolean; deprecated: boolean; version_added: string | null }

function reference(version: string): { source: any; packages: Record<string, string>; options: Map<string, OptionRow> } {
  const r = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${version}.json`), 'utf8'));
  return { source: r.source, packages: r.packages, options: new Map((r.options as OptionRow[]).map(o => [o.env, o])) };
}

/** Every AIRFLOW__* variable (plain or ECS secret) of every container, with where it is set. */
function airflowVariables(props: AirflowOnEcsProps): Map<string, Set<string>> {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', {
    webAccess: WebAccess.publicHttps({ certificate: acm.Certificate.fromCertificateArn(stack, 'C', 'arn:aws:acm:us-east-1:123456789012:certificate/x') }),
    dags: DagSource.gitSync({ repository: 'https://github.com/acme/dags.git' }),
    ...props,
  });
  const out = new Map<string, Set<string>>();
  for (const [task, td] of Object.entries(taskDefinitions(Template.fromStack(stack)))) {
    for (const c of td.containers) {
      for (const name of [...Object.keys(envOf(c)), ...(c.Secrets ?? []).map(s => s.Name)].filter(n => n.startsWith('AIRFLOW__'))) {
        if (!out.has(name)) out.set(name, new Set());
        out.get(name)!.add(`${task}/${c.Name}`);
      }
    }
  }
  return out;
}

describe.each(AirflowVersion.tested().map(v => [v.version, v] as const))('Airflow %s', (version, airflowVersion) => {
  const ref = reference(version);
  const variables = airflowVariables({ image: AirflowImage.official(airflowVersion) });

  test('its reference was generated from that release\'s packages, with its source', () => {
    expect(ref.packages['apache-airflow-core']).toBe(version);
    expect(ref.source.generated_by).toBe('scripts/airflow-config-reference/generate.sh');
    expect(ref.source.image_extras).toEqual(expect.arrayContaining(['celery', 'fab', 'amazon', 'postgres']));
    for (const provider of ['celery', 'fab', 'amazon', 'postgres']) expect(ref.packages[`apache-airflow-providers-${provider}`]).toBeDefined();
    expect(ref.options.size).toBeGreaterThan(400);
  });

  // pitfall #39: Static `airflow.cfg` drifting from the code
  test('every variable the library sets is an option of this release, current, and _CMD only where Airflow reads it', () => {
    const problems: string[] = [];
    for (const name of variables.keys()) {
      const isCmd = name.endsWith('_CMD');
      const row = ref.options.get(isCmd ? name.slice(0, -4) : name);
      if (!row) problems.push(`${name} is not an option of ${version}`);
      else if (row.deprecated) problems.push(`${name} is deprecated in ${version}`);
      else if (isCmd && !row.supports_cmd_secret) problems.push(`${name}: ${version} ignores _CMD for it`);
    }
    expect(problems).toEqual([]);
    expect(variables.size).toBeGreaterThanOrEqual(20);
  });

  // pitfall #54: Unneeded or conflicting default variables
  test('no option is set both plainly and through _CMD (the plain value would win silently)', () => {
    for (const name of variables.keys()) {
      if (name.endsWith('_CMD')) expect(variables.has(name.slice(0, -4))).toBe(false);
    }
  });

  test('the dag-processor health check fits the release', () => {
    const stack = new Stack(new App(), 'S');
    new AirflowOnEcs(stack, 'Airflow', { image: AirflowImage.official(airflowVersion) });
    const td = taskDefinitions(Template.fromStack(stack))['dag-processor'];
    const main = td.containers.find(c => c.Name === 'dag-processor')!;
    if (airflowVersion.isAtLeast('3.2.0')) {
      expect(main.HealthCheck!.Command).toEqual(['CMD-SHELL', 'airflow jobs check --job-type DagProcessorJob --local --limit 1']);
      expect(envOf(main).AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD).toBe('120');
    } else {
      // 3.1's jobs check allows 2.1 x job_heartbeat_sec (10.5 s) and fails under parsing load
      expect(main.HealthCheck!.Command.slice(0, 3)).toEqual(['CMD', 'python3', '-c']);
      expect(main.HealthCheck!.Command[3]).toMatch(/Job\.job_type == "DagProcessorJob".*age < 120/s);
      expect(envOf(main).AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD).toBeUndefined();
    }
  });
});

describe('the option index the library ships', () => {
  test('is derived from the newest fixture of each minor (scripts/airflow-config-reference/library-index.ts --write)', () => {
    const minors = fixturesByMinor();
    expect([...minors.keys()]).toEqual(AirflowVersion.tested().map(v => v.minorVersion));
    for (const [minor, version] of minors) {
      const expected = libraryIndex(JSON.parse(fs.readFileSync(path.join(FIXTURES, `${version}.json`), 'utf8')));
      expect(JSON.parse(fs.readFileSync(path.join(ASSETS, `${minor}.json`), 'utf8'))).toEqual(expected);
    }
  });
});

describe('users\' environment, checked against the chosen release', () => {
  const synth = (props: AirflowOnEcsProps) => synthError(stack => new AirflowOnEcs(stack, 'Airflow', props));

  test.each<[string, AirflowOnEcsProps, RegExp]>([
    ['a misspelled option, with the nearest valid one', { environment: { AIRFLOW__CORE__MAX_ACTIVE_TASK_PER_DAG: '32' } },
      /environment\.AIRFLOW__CORE__MAX_ACTIVE_TASK_PER_DAG is not an option of Airflow 3\.3\.2 \(Airflow would ignore it\); did you mean AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG\? For an option of a provider the official image does not ship, list AIRFLOW__CORE__MAX_ACTIVE_TASK_PER_DAG in customOptions/],
    ['Airflow 2\'s webserver base URL', { environment: { AIRFLOW__WEBSERVER__BASE_URL: 'https://x' } },
      /environment\.AIRFLOW__WEBSERVER__BASE_URL is deprecated in Airflow 3\.3\.2: it is now AIRFLOW__API__BASE_URL, which is set by cdk-airflow-ecs from webAccess \(its domainName\); remove it and set webAccess \(its domainName\) instead/],
    ['Airflow 2\'s database URL in [core]', { environment: { AIRFLOW__CORE__SQL_ALCHEMY_CONN: 'postgresql://x' } },
      /environment\.AIRFLOW__CORE__SQL_ALCHEMY_CONN is deprecated in Airflow 3\.3\.2: it is now AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, which is set by cdk-airflow-ecs from storage/],
    ['a renamed option the library does not manage', { apiServer: { environment: { AIRFLOW__WEBSERVER__ACCESS_DENIED_MESSAGE: 'no' } } },
      /apiServer\.environment\.AIRFLOW__WEBSERVER__ACCESS_DENIED_MESSAGE is deprecated in Airflow 3\.3\.2; use AIRFLOW__FAB__ACCESS_DENIED_MESSAGE instead/],
    ['a secret reference in a plain variable', { environment: { MY_TOKEN: '{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:x:SecretString:token::}}' } },
      /environment\.MY_TOKEN holds a secret reference .*pass it in secrets as an ECS secret/],
    ['a literal value for a sensitive option', { workers: { environment: { AIRFLOW__SENTRY__SENTRY_DSN: 'https://key@sentry.example.com/1' } } },
      /workers\.environment\.AIRFLOW__SENTRY__SENTRY_DSN is a sensitive option: its value would be stored in the template in plain text; pass it in workers\.secrets as an ECS secret/],
    ['an Airflow 2 SMTP password (Airflow 3 reads it from the smtp_default connection)', { environment: { AIRFLOW__SMTP__SMTP_PASSWORD: 'x' } },
      /environment\.AIRFLOW__SMTP__SMTP_PASSWORD is not an option of Airflow 3\.3\.2/],
    ['_CMD on an option Airflow runs no command for', { environment: { AIRFLOW__CORE__PARALLELISM_CMD: 'echo 8' } },
      /environment\.AIRFLOW__CORE__PARALLELISM_CMD: Airflow reads _CMD only for sensitive options, and AIRFLOW__CORE__PARALLELISM is not one; set AIRFLOW__CORE__PARALLELISM itself/],
    ['a malformed Airflow name', { environment: { AIRFLOW__CORE: 'x' } }, /environment\.AIRFLOW__CORE is not an Airflow option name/],
    ['an option the release does not have yet (3.1)', { image: AirflowImage.official(AirflowVersion.V3_1_8), environment: { AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD: '60' } },
      /environment\.AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD is not an option of Airflow 3\.1\.8/],
    ['a known option listed as custom', { customOptions: ['AIRFLOW__CORE__PARALLELISM'] },
      /customOptions entry 'AIRFLOW__CORE__PARALLELISM' is an option of Airflow 3\.3\.2 already, so it is checked like any other; remove it from customOptions/],
  ])('refuses %s', (_name, props, message) => {
    expect(synth(props)).toMatch(message);
  });

  // pitfall #4: Environment variables scattered and misspelled
  test('reports every mistake in one error', () => {
    expect(synth({ environment: { AIRFLOW__CORE__PARALELLISM: '8', AIRFLOW__WEBSERVER__BASE_URL: 'x', AIRFLOW__SENTRY__SENTRY_DSN: 'y' } }))
      .toMatch(/Validation failed with the following errors:\n {2}\[S\/Airflow\] environment\.AIRFLOW__CORE__PARALELLISM .*\n {2}\[S\/Airflow\] environment\.AIRFLOW__WEBSERVER__BASE_URL .*\n {2}\[S\/Airflow\] environment\.AIRFLOW__SENTRY__SENTRY_DSN /);
  });

  test('takes valid options, other variables, custom options and secrets', () => {
    const stack = new Stack(new App(), 'S');
    const smtp = new secretsmanager.Secret(stack, 'Smtp');
    new AirflowOnEcs(stack, 'Airflow', {
      environment: { AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: '32', TZ: 'Europe/Paris', AIRFLOW__ACME__ENDPOINT: 'https://acme.example.com' },
      customOptions: ['AIRFLOW__ACME__ENDPOINT'],
      secrets: { AIRFLOW__SENTRY__SENTRY_DSN: ecs.Secret.fromSecretsManager(smtp) },
      workers: { secrets: { ACME_TOKEN: ecs.Secret.fromSecretsManager(smtp, 'token') } },
    });
    const tds = taskDefinitions(Template.fromStack(stack));
    for (const name of ['api-server', 'scheduler', 'celery-worker', 'migrate']) {
      const main = tds[name].containers.find(c => c.Name === name)!;
      expect(envOf(main).AIRFLOW__ACME__ENDPOINT).toBe('https://acme.example.com');
      expect((main.Secrets ?? []).map(s => s.Name)).toContain('AIRFLOW__SENTRY__SENTRY_DSN');
    }
    const worker = tds['celery-worker'].containers.find(c => c.Name === 'celery-worker')!;
    expect((worker.Secrets ?? []).map(s => s.Name)).toContain('ACME_TOKEN');
    expect((tds.scheduler.containers.find(c => c.Name === 'scheduler')!.Secrets ?? []).map(s => s.Name)).not.toContain('ACME_TOKEN');
  });
});

describe('_PIP_ADDITIONAL_REQUIREMENTS', () => {
  const warnings = (props: AirflowOnEcsProps) => {
    const stack = new Stack(new App(), 'S');
    new AirflowOnEcs(stack, 'Airflow', props);
    return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('_PIP_ADDITIONAL_REQUIREMENTS'))
      .map(w => ({ path: w.id, text: String(w.entry.data) }));
  };

  test('at the top level, warns once at synth and points to an image with the packages', () => {
    const found = warnings({ environment: { _PIP_ADDITIONAL_REQUIREMENTS: 'pandas==2.2.3' } });
    expect(found).toHaveLength(1);
    expect(found[0].path).toBe('/S/Airflow');
    expect(found[0].text).toMatch(/^environment\._PIP_ADDITIONAL_REQUIREMENTS makes every container pip-install those packages each time it starts: .*Build an image with them instead: .*AirflowImage\./);
  });

  test('on one component, warns on that component with its prop path', () => {
    const found = warnings({ workers: { environment: { _PIP_ADDITIONAL_REQUIREMENTS: 'pandas' } } });
    expect(found.map(w => [w.path, w.text.split(' ')[0]])).toEqual([['/S/Airflow/Workers', 'workers.environment._PIP_ADDITIONAL_REQUIREMENTS']]);
  });

  test('says nothing without it', () => {
    expect(warnings({ environment: { TZ: 'UTC' } })).toEqual([]);
  });
});
