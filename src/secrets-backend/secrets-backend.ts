import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeNag, NAG } from '../private/nag';

/**
 * Where Airflow looks up connections, variables and configuration in AWS Secrets Manager.
 */
export interface SecretsManagerBackendOptions {
  /**
   * The prefix of the secrets holding connections: connection `warehouse` is the secret
   * `<connectionsPrefix>/warehouse`.
   *
   * @default 'airflow/connections'
   */
  readonly connectionsPrefix?: string;

  /**
   * The prefix of the secrets holding variables: variable `region` is the secret `<variablesPrefix>/region`.
   *
   * @default 'airflow/variables'
   */
  readonly variablesPrefix?: string;

  /**
   * The prefix of the secrets holding configuration options (Airflow reads only the `_secret`
   * form of sensitive options from a backend).
   *
   * @default - configuration is not looked up in Secrets Manager
   */
  readonly configPrefix?: string;
}

/**
 * Where Airflow looks up connections, variables and configuration in SSM Parameter Store.
 */
export interface ParameterStoreBackendOptions {
  /**
   * The path prefix of the parameters holding connections: connection `warehouse` is the
   * parameter `<connectionsPrefix>/warehouse`.
   *
   * @default '/airflow/connections'
   */
  readonly connectionsPrefix?: string;

  /**
   * The path prefix of the parameters holding variables.
   *
   * @default '/airflow/variables'
   */
  readonly variablesPrefix?: string;

  /**
   * The path prefix of the parameters holding configuration options.
   *
   * @default - configuration is not looked up in Parameter Store
   */
  readonly configPrefix?: string;
}

/**
 * Airflow's secrets backend (`[secrets] backend`): connections, variables and configuration read
 * from AWS Secrets Manager or SSM Parameter Store under prefixes, before environment variables and
 * the metadata database. Each Airflow task role may read only under those prefixes.
 */
export abstract class SecretsBackend {
  /**
   * AWS Secrets Manager, through the Amazon provider's `SecretsManagerBackend`.
   *
   * @param options the prefixes
   */
  public static secretsManager(options: SecretsManagerBackendOptions = {}): SecretsBackend {
    const prefixes = prefixesOf(options, 'airflow', 'SecretsBackend.secretsManager', SECRET_NAME);
    return new AwsSecretsBackend(
      'airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend',
      prefixes,
      ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      p => `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${p}/*`,
    );
  }

  /**
   * SSM Parameter Store (String and SecureString parameters), through the Amazon provider's
   * `SystemsManagerParameterStoreBackend`. SecureString parameters encrypted with a key of your own
   * also need `key.grantDecrypt(service)` on each component.
   *
   * @param options the path prefixes
   */
  public static parameterStore(options: ParameterStoreBackendOptions = {}): SecretsBackend {
    const prefixes = prefixesOf(options, '/airflow', 'SecretsBackend.parameterStore', PARAMETER_NAME);
    return new AwsSecretsBackend(
      'airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend',
      prefixes,
      ['ssm:GetParameter', 'ssm:GetParameters'],
      p => `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter/${p.replace(/^\/+/, '')}/*`,
    );
  }

  /** The Airflow options that select the backend and its prefixes. */
  public abstract readonly environment: { [name: string]: string };

  /**
   * Lets a task role read what the backend looks up (only under its prefixes), in a policy of its
   * own under `scope`.
   *
   * @param scope the construct the policy belongs to
   * @param role the task role of an Airflow component
   * @returns the policy, for what must wait for it
   */
  public abstract grantRead(scope: Construct, role: iam.IRole): iam.Policy;
}

/** Secrets Manager secret names: letters, digits and / _ + = . @ - */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
/** Parameter names: letters, digits and / _ . - */
const PARAMETER_NAME = /^[A-Za-z0-9/_.-]+$/;

interface Prefixes { connections: string; variables: string; config?: string }

function prefixesOf(options: SecretsManagerBackendOptions, root: string, where: string, allowed: RegExp): Prefixes {
  const prefixes: Prefixes = {
    connections: options.connectionsPrefix ?? `${root}/connections`,
    variables: options.variablesPrefix ?? `${root}/variables`,
    config: options.configPrefix,
  };
  for (const [kind, prefix] of Object.entries(prefixes)) {
    if (prefix === undefined) continue;
    if (!allowed.test(prefix) || prefix.replace(/\/+$/, '').replace(/^\/+/, '') === '') {
      throw new Error(`${where}: ${kind}Prefix '${prefix}' is not a name prefix; use letters, digits and ${allowed === SECRET_NAME ? '/ _ + = . @ -' : '/ _ . -'} `
        + `(no wildcards), such as '${root}/${kind}'`);
    }
  }
  return {
    connections: prefixes.connections.replace(/\/+$/, ''),
    variables: prefixes.variables.replace(/\/+$/, ''),
    config: prefixes.config?.replace(/\/+$/, ''),
  };
}

class AwsSecretsBackend extends SecretsBackend {
  public readonly environment: { [name: string]: string };

  constructor(
    backend: string,
    private readonly prefixes: Prefixes,
    private readonly actions: string[],
    private readonly arn: (prefix: string) => string,
  ) {
    super();
    this.environment = {
      AIRFLOW__SECRETS__BACKEND: backend,
      // null turns a lookup off (the backends' defaults would look up config too)
      AIRFLOW__SECRETS__BACKEND_KWARGS: JSON.stringify({
        connections_prefix: prefixes.connections,
        variables_prefix: prefixes.variables,
        config_prefix: prefixes.config ?? null,
      }),
    };
  }

  public grantRead(scope: Construct, role: iam.IRole): iam.Policy {
    const resources = [this.prefixes.connections, this.prefixes.variables, this.prefixes.config]
      .filter((p): p is string => p !== undefined)
      .map(this.arn);
    const policy = new iam.Policy(scope, 'SecretsBackendPolicy', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: this.actions, resources })],
    });
    acknowledgeNag(policy, [NAG.secretsBackend]);
    return policy;
  }
}
