/**
 * Integ test of examples/git-sync: the example's two stacks with git-sync pulling this repository's
 * test/integ/dags folder (branch main) with the token in the secret `airflow/dags-github-token`,
 * which must exist before deploying (any fine-grained GitHub token: the repository is public).
 * Storage that `cdk destroy` can delete. The assertions (airflow-assertions.ts) check the
 * api-server's health endpoint and run the DAG git-sync delivered. Snapshot:
 * integ.git-sync.js.snapshot, verified offline by test/integ/integ-snapshots.test.ts; deploying it:
 * README, "For maintainers with an AWS account" (a fork points DAGS_REPOSITORY at itself).
 */
import { App } from 'aws-cdk-lib';
import { airflowIntegTest, DISPOSABLE_STORAGE } from './airflow-assertions';
import { createApp } from '../../examples/git-sync/app';

const DAGS_REPOSITORY = 'https://github.com/cdk-airflow-ecs/cdk-airflow-ecs.git';

// no construct stack traces in the snapshot's metadata (they hold this checkout's absolute paths)
const app = new App({ stackTraces: false, context: { 'aws:cdk:disable-creation-stack-traces': true } });
createApp(app, {
  stackNamePrefix: 'Integ',
  storage: DISPOSABLE_STORAGE,
  repository: DAGS_REPOSITORY,
  subPath: 'test/integ/dags',
});
airflowIntegTest(app, 'IntegGitSync', { storageStackId: 'AirflowGitSyncStorage', servicesStackId: 'AirflowGitSyncServices', stackNamePrefix: 'IntegGitSync' });
app.synth();
