/**
 * Every AIRFLOW__* variable the library sets must be a real Airflow 3.1 option (a typo is
 * silently ignored by Airflow), and every `_CMD` variable must be for an option that accepts
 * `_CMD` (others are silently ignored too).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { AirflowOnEcs, WebAccess } from '../src';
import { envOf, taskDefinitions } from './util';

interface OptionRow { env: string; section: string; key: string; supports_cmd_secret: boolean; deprecated: boolean }
const reference = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'airflow-config-options.json'), 'utf8'));
const options = new Map<string, OptionRow>((reference.options as OptionRow[]).map(o => [o.env, o]));

function allAirflowVariables(): Map<string, Set<string>> {
  const stack = new Stack(new App(), 'S');
  new AirflowOnEcs(stack, 'Airflow', {
    webAccess: WebAccess.publicHttps({ certificate: acm.Certificate.fromCertificateArn(stack, 'C', 'arn:aws:acm:us-east-1:123456789012:certificate/x') }),
  });
  const byVariable = new Map<string, Set<string>>();
  for (const [task, td] of Object.entries(taskDefinitions(Template.fromStack(stack)))) {
    for (const c of td.containers) {
      const names = [...Object.keys(envOf(c)), ...(c.Secrets ?? []).map(s => s.Name)];
      for (const name of names.filter(n => n.startsWith('AIRFLOW__'))) {
        if (!byVariable.has(name)) byVariable.set(name, new Set());
        byVariable.get(name)!.add(`${task}/${c.Name}`);
      }
    }
  }
  return byVariable;
}

describe('Airflow configuration variables', () => {
  const variables = allAirflowVariables();

  test('the reference data is the Airflow 3.1 option list with its source', () => {
    expect(reference.source.repo).toBe('apache/airflow');
    expect(options.size).toBeGreaterThan(300);
    expect(options.has('AIRFLOW__CORE__EXECUTOR')).toBe(true);
  });

  test('the library sets a meaningful number of variables', () => {
    expect(variables.size).toBeGreaterThanOrEqual(20);
  });

  test.each([...allAirflowVariables().keys()].sort())('%s is a valid, current Airflow 3.1 option', (name) => {
    const isCmd = name.endsWith('_CMD');
    const optionName = isCmd ? name.slice(0, -'_CMD'.length) : name;
    const row = options.get(optionName);
    expect({ name, known: row !== undefined }).toEqual({ name, known: true });
    expect({ name, deprecated: row!.deprecated }).toEqual({ name, deprecated: false });
    if (isCmd) {
      expect({ name, acceptsCmd: row!.supports_cmd_secret }).toEqual({ name, acceptsCmd: true });
    }
  });

  test('no option is set both plainly and through _CMD (the plain value would win silently)', () => {
    for (const name of variables.keys()) {
      if (name.endsWith('_CMD')) expect(variables.has(name.slice(0, -4))).toBe(false);
    }
  });
});
