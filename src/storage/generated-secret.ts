import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeNag, NAG } from '../private/nag';

/**
 * A secret Secrets Manager generates once, of letters and digits only (safe in URLs, in
 * ElastiCache AUTH tokens, and in Fernet keys once padded), never rotated automatically: Airflow
 * reads it when a task starts (the README's "Operations notes" say how to rotate).
 */
export function generatedSecret(
  scope: Construct, id: string, description: string, length: number, removalPolicy: RemovalPolicy,
): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, {
    description,
    generateSecretString: { passwordLength: length, excludePunctuation: true, includeSpace: false },
    removalPolicy,
  });
  acknowledgeNag(secret, [NAG.secretRotation]);
  return secret;
}
