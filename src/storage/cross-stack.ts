import { Names, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { IAirflowStorage } from './i-airflow-storage';

/**
 * The storage values that change when a prop change replaces the database or the broker. A
 * CloudFormation export cannot change while another stack imports it, so these reach a stack
 * other than the storage's through SSM parameters that the storage writes, never as exports
 * (docs/pitfalls.md, #24). What stays an export never changes on such a replacement: the VPC and
 * its subnets, the security groups, the secrets' ARNs and the log bucket.
 */
export interface EndpointParameterNames {
  /** The database's host name, when the storage created the instance. */
  readonly databaseEndpointAddress?: string;
  /** The database instance identifier, when the storage created the instance. */
  readonly databaseInstanceIdentifier?: string;
  /** The database's port, when the storage created the instance (the engine's default). */
  readonly databaseEndpointPort?: string;
  /** The broker's primary endpoint host name. */
  readonly brokerEndpointAddress: string;
  /** The broker's replication group id. */
  readonly brokerReplicationGroupId: string;
  /** The broker's node count (primary and replicas), when known at synth. */
  readonly brokerNodes: number;
}

/** A storage that may have written its changing values to SSM parameters. */
interface StorageWithParameters extends IAirflowStorage {
  readonly _endpointParameters?: EndpointParameterNames;
}

/** What the storage writes: construct id, parameter name suffix and value. */
export interface EndpointValues {
  readonly database?: { readonly address: string; readonly identifier: string; readonly port: string };
  readonly broker: { readonly address: string; readonly replicationGroupId: string; readonly nodes: number };
}

/**
 * Writes the values that change on a replacement to SSM parameters under the storage, with names
 * known at synth (`/cdk-airflow-ecs/<stack name>/<construct id>/...`), so that another stack can
 * read them without an export. Undefined when the stack's name is not known at synth.
 */
export function writeEndpointParameters(
  storage: Construct, uniqueId: string | undefined, values: EndpointValues,
): EndpointParameterNames | undefined {
  const stack = Stack.of(storage);
  if (Token.isUnresolved(stack.stackName)) return undefined;
  const prefix = `/cdk-airflow-ecs/${stack.stackName}/${uniqueId ?? Names.uniqueId(storage)}`;
  const write = (id: string, suffix: string, value: string, description: string) => {
    const parameterName = `${prefix}/${suffix}`;
    new ssm.StringParameter(storage, id, { parameterName, stringValue: value, description: `${description}, for the Airflow services stack` });
    return parameterName;
  };
  return {
    ...(values.database ? {
      databaseEndpointAddress: write('DatabaseEndpointAddressParameter', 'database-endpoint-address', values.database.address, 'Airflow metadata database host name'),
      databaseInstanceIdentifier: write('DatabaseInstanceIdentifierParameter', 'database-instance-identifier', values.database.identifier, 'Airflow metadata database instance identifier'),
      databaseEndpointPort: values.database.port,
    } : {}),
    brokerEndpointAddress: write('BrokerEndpointAddressParameter', 'broker-endpoint-address', values.broker.address, 'Airflow Celery broker host name'),
    brokerReplicationGroupId: write('BrokerReplicationGroupIdParameter', 'broker-replication-group-id', values.broker.replicationGroupId, 'Airflow Celery broker replication group id'),
    brokerNodes: values.broker.nodes,
  };
}

/**
 * The storage as a stack other than its own should use it: the values that change when the
 * database or the broker is replaced are read from the storage's SSM parameters when the stack is
 * deployed (CloudFormation parameters of type `AWS::SSM::Parameter::Value<String>`, which the CDK
 * CLI re-reads on every deployment), everything else is the storage's own. In the storage's stack,
 * or for a storage without parameters (imported with `fromStorageAttributes`), the storage itself.
 */
export function storageFor(scope: Construct, storage: IAirflowStorage): IAirflowStorage {
  const names = (storage as StorageWithParameters)._endpointParameters;
  const stack = Stack.of(scope);
  if (names === undefined || Stack.of(storage) === stack) return storage;
  const existing = scope.node.tryFindChild('StorageEndpoints');
  if (existing instanceof CrossStackStorage) return existing;
  // deploy the storage first: its parameters must exist when this stack reads them
  stack.addDependency(Stack.of(storage), 'reads the Airflow storage endpoints from its SSM parameters');
  return new CrossStackStorage(scope, 'StorageEndpoints', storage, names);
}

/** The storage, with its changing values read from SSM parameters in the consuming stack. */
class CrossStackStorage extends Construct implements IAirflowStorage {
  public readonly databaseEndpointAddress: string;
  public readonly databaseEndpointPort: string;
  public readonly brokerEndpointAddress: string;
  public readonly databaseInstanceIdentifier?: string;
  public readonly brokerCacheNodeIds?: string[];

  constructor(scope: Construct, id: string, private readonly storage: IAirflowStorage, names: EndpointParameterNames) {
    super(scope, id);
    const read = (name: string) => ssm.StringParameter.valueForStringParameter(this, name);
    this.databaseEndpointAddress = names.databaseEndpointAddress ? read(names.databaseEndpointAddress) : storage.databaseEndpointAddress;
    this.databaseEndpointPort = names.databaseEndpointPort ?? storage.databaseEndpointPort;
    this.databaseInstanceIdentifier = names.databaseInstanceIdentifier ? read(names.databaseInstanceIdentifier) : storage.databaseInstanceIdentifier;
    this.brokerEndpointAddress = read(names.brokerEndpointAddress);
    const group = read(names.brokerReplicationGroupId);
    this.brokerCacheNodeIds = Array.from({ length: names.brokerNodes }, (_, i) => `${group}-${String(i + 1).padStart(3, '0')}`);
  }

  public get vpc(): ec2.IVpc { return this.storage.vpc; }
  public get databaseName(): string { return this.storage.databaseName; }
  public get databaseSecret(): secretsmanager.ISecret { return this.storage.databaseSecret; }
  public get databaseConnections(): ec2.Connections { return this.storage.databaseConnections; }
  public get brokerConnections(): ec2.Connections { return this.storage.brokerConnections; }
  public get brokerAuthTokenSecret(): secretsmanager.ISecret { return this.storage.brokerAuthTokenSecret; }
  public get fernetKeySecret(): secretsmanager.ISecret { return this.storage.fernetKeySecret; }
  public get jwtSecret(): secretsmanager.ISecret { return this.storage.jwtSecret; }
  public get apiSecretKeySecret(): secretsmanager.ISecret { return this.storage.apiSecretKeySecret; }
  public get adminPasswordSecret(): secretsmanager.ISecret { return this.storage.adminPasswordSecret; }
  public get logBucket(): s3.IBucket { return this.storage.logBucket; }
  public get databaseInstanceClass(): string | undefined { return this.storage.databaseInstanceClass; }
  public get databaseEngineMajorVersion(): string | undefined { return this.storage.databaseEngineMajorVersion; }
}
