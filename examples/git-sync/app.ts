// DAGs from a private GitHub repository, kept in sync by git-sync, with a token from Secrets Manager.
// In your own app, import from 'cdk-airflow-ecs' instead of '../../src'.
//
// Before deploying, store a fine-grained GitHub token with read access to the repository:
//   aws secretsmanager create-secret --name airflow/dags-github-token --secret-string 'github_pat_...'
import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AirflowOnEcs, AirflowStorage, DagSource, GitCredentials } from '../../src';

class AirflowStorageStack extends Stack {
  public readonly storage: AirflowStorage;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.storage = new AirflowStorage(this, 'Storage');
  }
}

class AirflowServicesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { storage: AirflowStorage }) {
    super(scope, id, props);
    const token = secretsmanager.Secret.fromSecretNameV2(this, 'DagsToken', 'airflow/dags-github-token');
    const airflow = new AirflowOnEcs(this, 'Airflow', {
      storage: props.storage,
      dags: DagSource.gitSync({
        repository: 'https://github.com/acme/airflow-dags.git',
        branch: 'main',
        subPath: 'dags',
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
export function createApp(app: App = new App()): App {
  const storage = new AirflowStorageStack(app, 'AirflowGitSyncStorage');
  new AirflowServicesStack(app, 'AirflowGitSyncServices', { storage: storage.storage });
  return app;
}

if (require.main === module) {
  createApp().synth();
}
