/**
 * Integ test of examples/basic: the example's two stacks, deployed as they are except for storage
 * that `cdk destroy` can delete and an image with the integ DAG baked in (dags/Dockerfile), since
 * the official image has no DAGs. The assertions (airflow-assertions.ts) check the api-server's
 * health endpoint and run the DAG. Snapshot: integ.basic.js.snapshot, verified offline by
 * test/integ/integ-snapshots.test.ts; deploying it: README, "For maintainers with an AWS account".
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { airflowIntegTest, DISPOSABLE_STORAGE } from './airflow-assertions';
import { createApp } from '../../examples/basic/app';
import { AirflowImage } from '../../src';

// no construct stack traces in the snapshot's metadata (they hold this checkout's absolute paths)
const app = new App({ stackTraces: false, context: { 'aws:cdk:disable-creation-stack-traces': true } });
createApp(app, {
  stackNamePrefix: 'Integ',
  storage: DISPOSABLE_STORAGE,
  image: AirflowImage.fromAsset(path.join(__dirname, 'dags')),
});
airflowIntegTest(app, 'IntegBasic', { storageStackId: 'AirflowStorage', servicesStackId: 'AirflowServices', stackNamePrefix: 'IntegBasic' });
app.synth();
