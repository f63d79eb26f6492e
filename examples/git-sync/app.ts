// DAGs from a private GitHub repository, kept in sync by git-sync, with a token from Secrets Manager.
// In your own app, import from 'cdk-airflow-ecs' instead of '../../src'.
//
// Before deploying, store a fine-grained GitHub token with read access to the repository:
//   aws secretsmanager create-secret --name airflow/dags-github-token --secret-string 'github_pat_...'
import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AirflowOnEcs, AirflowStorage, AirflowStorageProps, DagSource, GitCredentials } from '../../src';

/** What the integ test (test/integ/integ.git-sync.ts) changes; the example itself uses the defaults. */
export interface GitSyncExampleOptions {
  /** The storage's settings. @default - the defaults: the database and secrets outlive the stack */
  readonly storage?: AirflowStorageProps;
  /** Put before the stacks' names, to deploy beside the example. @default - the stacks' names are their ids */
  readonly stackNamePrefix?: string;
  /** The DAG repository. @default 'https://github.com/acme/airflow-dags.git' */
  readonly repository?: string;
  /** The DAGs' folder in the repository. @default 'dags' */
  readonly subPath?: string;
}

class AirflowStorageStack extends Stack {
  public readonly storage: AirflowStorage;

  constructor(scope: Construct, id: string, props?: StackProps & { storageProps?: AirflowStorageProps }) {
    super(scope, id, props);
    this.storage = new AirflowStorage(this, 'Storage', props?.storageProps);
  }
}

class AirflowServicesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { storage: AirflowStorage; repository?: string; subPath?: string }) {
    super(scope, id, props);
    const token = secretsmanager.Secret.fromSecretNameV2(this, 'DagsToken', 'airflow/dags-github-token');
    const airflow = new AirflowOnEcs(this, 'Airflow', {
      storage: props.storage,
      dags: DagSource.gitSync({
        repository: props.repository ?? 'https://github.com/acme/airflow-dags.git',
        branch: 'main',
        subPath: props.subPath ?? 'dags',
        credentials: GitCredentials.httpsToken({ secret: token }),
      }),
    });
    new CfnOutput(this, 'GitSyncAlarm', {
      value: airflow.workers.dagSource!.syncErrorsAlarm!.alarmName,
      description: 'In alarm when the workers cannot sync the DAG repository; add an SNS action to be told',
    });
  }
}

/** The example's app; tests build it to run AWS's checks on it. */
export function createApp(app: App = new App(), options: GitSyncExampleOptions = {}): App {
  const stackName = (id: string) => (options.stackNamePrefix ? `${options.stackNamePrefix}${id}` : undefined);
  const storage = new AirflowStorageStack(app, 'AirflowGitSyncStorage', { storageProps: options.storage, stackName: stackName('AirflowGitSyncStorage') });
  new AirflowServicesStack(app, 'AirflowGitSyncServices', { stackName: stackName('AirflowGitSyncServices'), storage: storage.storage, repository: options.repository, subPath: options.subPath });
  return app;
}

if (require.main === module) {
  createApp().synth();
}
