// The local ECS runtime's bring-your-own database app: the team's own PostgreSQL instance, whose
// credentials Airflow reads from a secret the team created (imported by name, so its password may
// hold any character, including every one Secrets Manager's generator excludes for RDS), and the
// team's connections and variables in Secrets Manager (the secrets backend); and a compact control
// plane (compactControlPlane: the triggerer in the dag-processor's task).
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AirflowOnEcs, AirflowStorage, SecretsBackend } from '../../../src';

/** The name of the imported secret: JSON with `username` and `password`. */
export const BYO_SECRET_NAME = 'airflow/byo-database';

export function createApp(app: App = new App()): App {
  const stack = new Stack(app, 'AirflowByoDatabase');
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
  const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'DatabaseCredentials', BYO_SECRET_NAME);
  const database = new rds.DatabaseInstance(stack, 'TeamDatabase', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    credentials: rds.Credentials.fromSecret(secret),
    databaseName: 'airflow',
    storageEncrypted: true,
  });
  const storage = new AirflowStorage(stack, 'Storage', {
    vpc,
    database: { existingInstance: database, existingSecret: secret },
  });
  // and the smaller control plane: the triggerer in the dag-processor's task
  new AirflowOnEcs(stack, 'Airflow', { storage, secretsBackend: SecretsBackend.secretsManager(), compactControlPlane: true });
  return app;
}

if (require.main === module) {
  createApp().synth();
}
