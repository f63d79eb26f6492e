import { Annotations, Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { IConstruct } from 'constructs';
import { AirflowOptions } from './airflow-options';
import { managedExplanation, managedVariableProblem, STATSD_VARIABLES } from './config';
import { Problems } from './validation';

const OPTION = /^AIRFLOW__([A-Z0-9_]+?)__([A-Z0-9_]+)$/;

/** The Airflow settings a construct takes: variables, ECS secrets and vouched-for options. */
export interface AirflowSettings {
  readonly environment?: { [name: string]: string };
  readonly secrets?: { [name: string]: unknown };
  /** Options the user vouches for although the reference does not list them. */
  readonly customOptions?: string[];
}

/**
 * Checks users' variables: the ones the library sets (naming the option that sets them), and
 * Airflow options against the chosen release's configuration reference (unknown or misspelled
 * options, options this release deprecates, `_CMD`/`_SECRET` on options Airflow does not read
 * them for, secrets in plain environment variables). Every problem names the prop, the value and
 * the fix. Values that are tokens are not inspected.
 */
export function checkEnvironment(problems: Problems, settings: AirflowSettings, options: AirflowOptions, propPrefix = ''): void {
  const input = {
    prop: `${propPrefix}environment`,
    secretsProp: `${propPrefix}secrets`,
    // one list for the whole deployment, at the top level of every construct's props
    customOptionsProp: 'customOptions',
  };
  const custom = new Set(settings.customOptions ?? []);
  const check = (name: string, prop: string, isSecret: boolean) => {
    // the StatsD variables are the library's only while monitoring.airflowMetrics is on: AirflowOnEcs checks them
    const managed = STATSD_VARIABLES.includes(name) ? undefined : managedVariableProblem(prop, name);
    if (managed) {
      problems.add(managed);
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
        : managedExplanation(replacement) ? `: it is now ${replacement}, which is ${managedExplanation(replacement)}`
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
  for (const [name, value] of Object.entries(settings.environment ?? {})) {
    if (!Token.isUnresolved(value) && /\{\{resolve:(secretsmanager|ssm-secure)/.test(value)) {
      problems.add(`${input.prop}.${name} holds a secret reference ('${value.slice(0, 60)}…'): CloudFormation would resolve it into the task definition in plain text; `
        + `pass it in ${input.secretsProp} as an ECS secret (ecs.Secret.fromSecretsManager(secret, 'field'))`);
      continue;
    }
    check(name, input.prop, false);
  }
  for (const [name, value] of Object.entries(settings.secrets ?? {})) {
    if (!isEcsSecret(value)) {
      // the value itself is not shown: it may be the secret
      problems.add(`${input.secretsProp}.${name} is a plain ${value === null ? 'null' : typeof value}, not an ECS secret: it would be stored in the template in plain text; `
        + 'store it in Secrets Manager and pass ecs.Secret.fromSecretsManager(secret) (or ecs.Secret.fromSsmParameter(parameter) for a SecureString parameter)');
      continue;
    }
    if (settings.environment && Object.prototype.hasOwnProperty.call(settings.environment, name)) {
      problems.add(`${name} is in both ${input.prop} and ${input.secretsProp}: the container would get two values; keep it only in ${input.secretsProp}`);
      continue;
    }
    check(name, input.secretsProp, true);
  }
  for (const name of custom) {
    if (!OPTION.test(name)) {
      problems.add(`${input.customOptionsProp} entry '${name}' is not an Airflow option name; write it as AIRFLOW__{SECTION}__{KEY}`);
    } else if (options.has(name)) {
      problems.add(`${input.customOptionsProp} entry '${name}' is an option of Airflow ${options.airflowVersion} already, so it is checked like any other; remove it from ${input.customOptionsProp}`);
    }
  }
}

/**
 * Whether a value is an ECS secret: an `ecs.Secret`, or an object of that shape (another copy of
 * aws-cdk-lib), not a string or number a JavaScript user put where a secret goes.
 */
export function isEcsSecret(value: unknown): value is ecs.Secret {
  if (value instanceof ecs.Secret) return true;
  const v = value as { arn?: unknown; grantRead?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.arn === 'string' && typeof v.grantRead === 'function';
}

/**
 * The ECS secrets of a `secrets` prop, without the plain values `checkEnvironment` reports: ECS
 * would fail on them with a TypeError before the report.
 */
export function ecsSecretsOnly(secrets: { [name: string]: ecs.Secret } | undefined): { [name: string]: ecs.Secret } | undefined {
  return secrets && Object.fromEntries(Object.entries(secrets).filter(([, v]) => isEcsSecret(v)));
}

export interface SettingsLevel {
  readonly prop: string;
  readonly environment?: { [name: string]: string };
  readonly secrets?: { [name: string]: unknown };
}

/**
 * A variable set both plainly at one level (the deployment's or the component's) and as a secret at
 * the other: the container would get two values.
 */
export function checkAcrossLevels(problems: Problems, levels: SettingsLevel[]): void {
  for (const a of levels) {
    for (const b of levels) {
      if (a === b) continue;
      for (const name of Object.keys(b.secrets ?? {})) {
        if (a.environment && Object.prototype.hasOwnProperty.call(a.environment, name)) {
          problems.add(`${name} is in both ${a.prop}environment and ${b.prop}secrets: the container would get two values; keep it only in ${b.prop}secrets`);
        }
      }
    }
  }
}

/**
 * The official image's `_PIP_ADDITIONAL_REQUIREMENTS` installs packages with pip every time a
 * container starts: legal, but slow and fragile on Fargate, so synth warns.
 */
export function warnPipAdditionalRequirements(scope: IConstruct, environment: { [name: string]: string } | undefined, propPrefix = ''): void {
  if (environment === undefined || !Object.prototype.hasOwnProperty.call(environment, '_PIP_ADDITIONAL_REQUIREMENTS')) return;
  Annotations.of(scope).addWarningV2('cdk-airflow-ecs:AirflowOnEcs.pipAdditionalRequirements',
    `${propPrefix}environment._PIP_ADDITIONAL_REQUIREMENTS makes every container pip-install those packages each time it starts: minutes per task start, `
    + 'a download from PyPI through the NAT gateway, no Airflow constraints, and a task that fails to start when PyPI or a package does '
    + '(the official image documents it for quick tests only). Build an image with them instead: '
    + 'image: AirflowImage.withRequirements({ requirements: [...] }) (or AirflowImage.fromAsset(directory) with your own Dockerfile)');
}
