import { Token } from 'aws-cdk-lib';
import { AirflowOptions } from './airflow-options';
import { Problems } from './validation';

const OPTION = /^AIRFLOW__([A-Z0-9_]+?)__([A-Z0-9_]+)$/;

export interface EnvironmentCheckInput {
  /** The prop the variables come from, such as `environment` or `workers.environment`. */
  readonly prop: string;
  readonly environment?: { [name: string]: string };
  /** Names given as ECS secrets (`secrets`), checked the same way but for their values. */
  readonly secretNames?: string[];
  /** The prop that holds secrets, for messages. */
  readonly secretsProp: string;
  /** Names the library sets itself. */
  readonly managed: Set<string>;
  /** The chosen release's options. */
  readonly options: AirflowOptions;
  /** Options the user vouches for although the reference does not list them. */
  readonly customOptions?: string[];
  /** The prop that lists them, for messages. */
  readonly customOptionsProp: string;
}

/**
 * Checks users' Airflow variables against the chosen release's configuration reference: unknown
 * or misspelled options, options this release deprecates, `_CMD`/`_SECRET` on options Airflow
 * does not read them for, and secrets in plain environment variables. Every problem names the
 * prop, the value and the fix.
 */
export function checkEnvironment(problems: Problems, input: EnvironmentCheckInput): void {
  const { options } = input;
  const custom = new Set(input.customOptions ?? []);
  const check = (name: string, prop: string, isSecret: boolean) => {
    if (input.managed.has(name)) {
      problems.add(`${prop}.${name} is managed by cdk-airflow-ecs (setting it would break the shared configuration every component needs); remove it and use the construct's options instead`);
      return;
    }
    if (!name.startsWith('AIRFLOW__')) return; // not an Airflow option: passed as it is
    const suffix = /_(CMD|SECRET)$/.exec(name)?.[1];
    const option = suffix && !options.has(name) ? name.slice(0, -(suffix.length + 1)) : name;
    if (!OPTION.test(option)) {
      problems.add(`${prop}.${name} is not an Airflow option name; Airflow reads AIRFLOW__{SECTION}__{KEY}, such as AIRFLOW__CORE__PARALLELISM`);
      return;
    }
    if (custom.has(option)) return;
    if (!options.has(option)) {
      const nearest = options.nearest(option);
      problems.add(`${prop}.${name} is not an option of Airflow ${options.airflowVersion} (Airflow would ignore it)`
        + `${nearest ? `; did you mean ${nearest}${suffix ? `_${suffix}` : ''}?` : ''} For an option of a provider the official image does not ship, `
        + `list ${option} in ${input.customOptionsProp}`);
      return;
    }
    const deprecation = options.deprecation(option);
    if (deprecation) {
      const replacement = /^AIRFLOW__/.test(deprecation) ? deprecation : undefined;
      const fix = !replacement ? ` (${deprecation}); remove it`
        : input.managed.has(replacement) ? `: it is now ${replacement}, which cdk-airflow-ecs manages; remove it and use the construct's options instead`
          : `; use ${replacement}${suffix ? `_${suffix}` : ''} instead`;
      problems.add(`${prop}.${name} is deprecated in Airflow ${options.airflowVersion}${fix}`);
      return;
    }
    if (suffix && !options.isSensitive(option)) {
      problems.add(`${prop}.${name}: Airflow reads _${suffix} only for sensitive options, and ${option} is not one; set ${option} itself`);
      return;
    }
    if (!suffix && !isSecret && options.isSensitive(option)) {
      problems.add(`${prop}.${name} is a sensitive option: its value would be stored in the template in plain text; pass it in ${input.secretsProp} as an ECS secret `
        + `(${input.secretsProp}: { ${name}: ecs.Secret.fromSecretsManager(secret) })`);
    }
  };
  for (const [name, value] of Object.entries(input.environment ?? {})) {
    if (!Token.isUnresolved(value) && /\{\{resolve:(secretsmanager|ssm-secure)/.test(value)) {
      problems.add(`${input.prop}.${name} holds a secret reference ('${value.slice(0, 60)}…'): CloudFormation would resolve it into the task definition in plain text; `
        + `pass it in ${input.secretsProp} as an ECS secret (ecs.Secret.fromSecretsManager(secret, 'field'))`);
      continue;
    }
    check(name, input.prop, false);
  }
  for (const name of input.secretNames ?? []) check(name, input.secretsProp, true);
  for (const name of custom) {
    if (!OPTION.test(name)) {
      problems.add(`${input.customOptionsProp} entry '${name}' is not an Airflow option name; write it as AIRFLOW__{SECTION}__{KEY}`);
    } else if (options.has(name)) {
      problems.add(`${input.customOptionsProp} entry '${name}' is an option of Airflow ${options.airflowVersion} already, so it is checked like any other; remove it from ${input.customOptionsProp}`);
    }
  }
}
