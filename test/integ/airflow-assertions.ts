/**
 * What the integ tests (integ.basic.ts, integ.git-sync.ts) share: the storage settings that let
 * `cdk destroy` remove everything it can, and the assertions against a deployed example app.
 *
 * How the assertions reach Airflow: the examples keep the default web access, an internal load
 * balancer that admits the VPC's range only, and integ-tests-alpha's assertion provider (a Lambda
 * function outside any VPC) cannot reach it. Rather than open the load balancer to the internet for
 * the test (which would test another deployment than the examples' and expose the admin login), a
 * probe function (airflow-probe/index.js) runs in the VPC's private subnets, reads the admin password
 * from the storage's secret and calls the REST API through the load balancer, as a user in the VPC
 * would; the assertions invoke it and poll it with waitForAssertions.
 */
import * as path from 'path';
import { ExpectedResult, IntegTest, InvocationType, Match } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AirflowOnEcs, AirflowStorageProps } from '../../src';

/** The DAG both apps run (dags/smoke.py), and the id of the run the assertions start. */
export const INTEG_DAG_ID = 'integ_smoke';
export const INTEG_RUN_ID = 'integ-test';

/**
 * Storage an integ run can delete: no deletion protection, no final snapshot, secrets deleted
 * with the stack. The log bucket stays (it holds task logs and CloudFormation cannot delete a
 * bucket that is not empty): the README's cleanup removes it.
 */
export const DISPOSABLE_STORAGE: AirflowStorageProps = {
  database: { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY },
  secretsRemovalPolicy: RemovalPolicy.DESTROY,
};

export interface AirflowIntegTestProps {
  /** The ids of the example's storage and services stacks. */
  readonly storageStackId: string;
  readonly servicesStackId: string;
  /** The prefix of the deployed stacks' names (the examples' stackNamePrefix). */
  readonly stackNamePrefix: string;
}

/**
 * The integ test of an example app: its two stacks are the test case; an assertion stack holds the
 * probe and the assertions. 1. The api-server's health endpoint reports the metadatabase, the
 * scheduler, the triggerer and the dag-processor healthy. 2. Then a run of `integ_smoke` succeeds.
 */
export function airflowIntegTest(app: App, id: string, props: AirflowIntegTestProps): IntegTest {
  const storageStack = app.node.findChild(props.storageStackId) as Stack;
  const servicesStack = app.node.findChild(props.servicesStackId) as Stack;
  const airflow = servicesStack.node.findChild('Airflow') as AirflowOnEcs;

  const assertionStack = new Stack(app, `${id}Assertions`, { stackName: `${props.stackNamePrefix}Assertions` });
  const securityGroup = new ec2.SecurityGroup(assertionStack, 'ProbeSecurityGroup', {
    vpc: airflow.storage.vpc,
    description: 'The integ tests probe: calls the Airflow REST API through the internal load balancer',
    allowAllOutbound: true,
  });
  const probe = new lambda.Function(assertionStack, 'Probe', {
    description: 'Calls the Airflow REST API from inside the VPC for the integ tests (test/integ/airflow-probe)',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(__dirname, 'airflow-probe')),
    timeout: Duration.seconds(60),
    vpc: airflow.storage.vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    securityGroups: [securityGroup],
    environment: {
      AIRFLOW_URL: airflow.url,
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD_SECRET_ARN: airflow.storage.adminPasswordSecret.secretArn,
    },
    logGroup: new logs.LogGroup(assertionStack, 'ProbeLogs', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY }),
  });
  airflow.storage.adminPasswordSecret.grantRead(probe);
  new CfnOutput(assertionStack, 'ProbeFunction', { value: probe.functionName, description: 'Invoke it to call Airflow from the VPC' });

  const integ = new IntegTest(app, id, {
    testCases: [storageStack, servicesStack],
    assertionStack,
    // a fresh deployment each time: the examples' update path is covered by test/security/upgrades.test.ts
    stackUpdateWorkflow: false,
    // asset hashes (the image, the Lambda code) are not compared; the templates are
    diffAssets: false,
  });

  const invokeProbe = (payload: object) => integ.assertions.invokeFunction({
    functionName: probe.functionName,
    invocationType: InvocationType.REQUEST_RESPONSE,
    payload: JSON.stringify(payload),
  });
  const healthy = { status: 'healthy' };
  const health = invokeProbe({ action: 'health' }).expect(ExpectedResult.objectLike({
    Payload: Match.serializedJson(Match.objectLike({
      httpStatus: 200,
      health: Match.objectLike({
        metadatabase: Match.objectLike(healthy),
        scheduler: Match.objectLike(healthy),
        triggerer: Match.objectLike(healthy),
        dag_processor: Match.objectLike(healthy),
      }),
    })),
  })).waitForAssertions({ totalTimeout: Duration.minutes(15), interval: Duration.seconds(30) });

  // the workers start at 0 and scale out on the queued tasks: a few minutes before the first task runs
  const dagRun = invokeProbe({ action: 'runDag', dagId: INTEG_DAG_ID, runId: INTEG_RUN_ID }).expect(ExpectedResult.objectLike({
    Payload: Match.serializedJson(Match.objectLike({ dagId: INTEG_DAG_ID, runId: INTEG_RUN_ID, state: 'success' })),
  })).waitForAssertions({ totalTimeout: Duration.minutes(30), interval: Duration.seconds(30) });
  health.next(dagRun);
  return integ;
}
