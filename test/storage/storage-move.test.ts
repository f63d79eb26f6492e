/**
 * Moving from inline storage (`new AirflowOnEcs(stack, 'Airflow')`) to a separate `AirflowStorage`:
 * what the CDK's diff engine (@aws-cdk/cloudformation-diff, what `cdk diff` uses) reports for the
 * stateful resources, without and with `inlineStorageOf`; and the secrets kept when removed.
 */
import { fullDiff } from '@aws-cdk/cloudformation-diff';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { AirflowOnEcs, AirflowStorage, AirflowStorageProps } from '../../src';
import { logicalIdOf } from '../../src/storage/inline-ids';
import { synthError } from '../util';

const STATEFUL = ['AWS::RDS::DBInstance', 'AWS::SecretsManager::Secret', 'AWS::ElastiCache::ReplicationGroup', 'AWS::S3::Bucket', 'AWS::EC2::VPC'];

/** The template of stack `Airflow` with `build` in it. */
function template(build: (stack: Stack) => void): any {
  const app = new App();
  build(new Stack(app, 'Airflow'));
  return app.synth().getStackByName('Airflow').template;
}

const inline = template(stack => new AirflowOnEcs(stack, 'Airflow'));
const moved = (props: AirflowStorageProps) => template(stack => {
  const storage = new AirflowStorage(stack, 'Storage', props);
  new AirflowOnEcs(stack, 'Airflow', { storage });
});

/** Every resource the move adds, removes or replaces, as "Type: impact" (one line per type and impact, counted). */
function changes(before: any, after: any, types?: string[]): string[] {
  const counts = new Map<string, number>();
  fullDiff(before, after).resources.forEachDifference((_id, change) => {
    const type = change.oldValue?.Type ?? change.newValue?.Type ?? '';
    if (types && !types.includes(type)) return;
    const key = `${type}: ${change.changeImpact}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return [...counts].map(([key, n]) => `${key} x${n}`).sort();
}

test('the CDK computes logical ids as logicalIdOf does (the move depends on it)', () => {
  const ids = Object.keys(inline.Resources);
  const database = ids.find(id => inline.Resources[id].Type === 'AWS::RDS::DBInstance');
  expect(database).toBe(logicalIdOf(['Airflow', 'Storage', 'Database', 'Resource']));
  expect(ids).toContain(logicalIdOf(['Airflow', 'Storage', 'FernetKey', 'Resource']));
  expect(ids).toContain(logicalIdOf(['Airflow', 'Storage', 'Vpc', 'Resource']));
});

describe('a separate AirflowStorage without inlineStorageOf', () => {
  test('the diff engine reports the database and broker destroyed, the secrets and the bucket orphaned (kept), each created anew', () => {
    expect(changes(inline, moved({}), STATEFUL)).toEqual([
      'AWS::EC2::VPC: WILL_CREATE x1',
      'AWS::EC2::VPC: WILL_DESTROY x1',
      'AWS::ElastiCache::ReplicationGroup: WILL_CREATE x1',
      'AWS::ElastiCache::ReplicationGroup: WILL_DESTROY x1',
      'AWS::RDS::DBInstance: WILL_CREATE x1',
      // RemovalPolicy.SNAPSHOT and deletion protection: the delete fails and leaves the instance,
      // but the services switch to the new, empty one
      'AWS::RDS::DBInstance: WILL_DESTROY x1',
      'AWS::S3::Bucket: WILL_CREATE x1',
      'AWS::S3::Bucket: WILL_ORPHAN x1',
      'AWS::SecretsManager::Secret: WILL_CREATE x6',
      'AWS::SecretsManager::Secret: WILL_ORPHAN x6',
    ]);
  });

  test('from a deployment of an earlier version (secrets without a DeletionPolicy), the Fernet key and the credentials were deleted', () => {
    const earlier = JSON.parse(JSON.stringify(inline));
    for (const r of Object.values<any>(earlier.Resources).filter(x => x.Type === 'AWS::SecretsManager::Secret')) {
      delete r.DeletionPolicy;
      delete r.UpdateReplacePolicy;
    }
    expect(changes(earlier, moved({}), ['AWS::SecretsManager::Secret']))
      .toEqual(['AWS::SecretsManager::Secret: WILL_CREATE x6', 'AWS::SecretsManager::Secret: WILL_DESTROY x6']);
  });
});

describe('a separate AirflowStorage with inlineStorageOf, in the same stack', () => {
  const after = moved({ inlineStorageOf: 'Airflow' });

  test('the diff engine reports no resource added, removed or replaced', () => {
    const notUpdates = changes(inline, after).filter(c => !/: (WILL_UPDATE|NO_CHANGE) x/.test(c));
    expect(notUpdates).toEqual([]);
  });

  test('the stateful resources keep their logical ids and properties', () => {
    for (const [id, resource] of Object.entries<any>(inline.Resources).filter(([, r]) => STATEFUL.includes(r.Type))) {
      const { Tags: _before, ...properties } = resource.Properties ?? {};
      const { Tags: _after, ...kept } = after.Resources[id]?.Properties ?? {};
      expect({ id, type: after.Resources[id]?.Type, properties: kept }).toEqual({ id, type: resource.Type, properties });
    }
  });

  test('works for an AirflowOnEcs below other constructs too', () => {
    const nestedInline = template(stack => new AirflowOnEcs(new Construct(stack, 'Platform'), 'Airflow'));
    const nestedMoved = template(stack => {
      const platform = new Construct(stack, 'Platform');
      new AirflowOnEcs(platform, 'Airflow', { storage: new AirflowStorage(stack, 'AirflowStorage', { inlineStorageOf: 'Platform/Airflow' }) });
    });
    expect(changes(nestedInline, nestedMoved).filter(c => !/: (WILL_UPDATE|NO_CHANGE) x/.test(c))).toEqual([]);
  });
});

describe('generated secrets', () => {
  test('secretsRemovalPolicy: RemovalPolicy.DESTROY deletes them with the stack (for test environments)', () => {
    const destroyed = moved({ secretsRemovalPolicy: RemovalPolicy.DESTROY });
    const secrets = Object.values<any>(destroyed.Resources).filter(r => r.Type === 'AWS::SecretsManager::Secret');
    expect(secrets.map(s => s.DeletionPolicy)).toEqual(Array(6).fill('Delete'));
  });


  test('are kept when removed from the stack, by default (RETAIN): Fernet key, JWT secret, API secret key, admin password, broker token, database credentials', () => {
    const secrets = Template.fromJSON(inline).findResources('AWS::SecretsManager::Secret');
    expect(Object.values<any>(secrets).map(s => [s.DeletionPolicy, s.UpdateReplacePolicy])).toEqual(Array(6).fill(['Retain', 'Retain']));
  });
});

describe('inlineStorageOf: bad input', () => {
  test.each<[string, (stack: Stack) => void, RegExp]>([
    ['an empty path segment', stack => new AirflowStorage(stack, 'Storage', { inlineStorageOf: 'Platform//Airflow' }),
      /inlineStorageOf \('Platform\/\/Airflow'\) must be the construct path of the AirflowOnEcs from its stack, such as 'Airflow'/],
    ['a storage in another stack than the AirflowOnEcs', stack => {
      const storageStack = new Stack(stack.node.scope as App, 'StorageStack');
      new AirflowOnEcs(stack, 'Airflow', { storage: new AirflowStorage(storageStack, 'Storage', { inlineStorageOf: 'Airflow' }) });
    }, /inlineStorageOf \('Airflow'\): stack StorageStack has no construct at that path; logical ids are kept only within one stack/],
    ['the AirflowOnEcs still creating its own storage', stack => {
      new AirflowStorage(stack, 'Moved', { inlineStorageOf: 'Airflow' });
      new AirflowOnEcs(stack, 'Airflow');
    }, /inlineStorageOf \('Airflow'\): S\/Airflow\/Storage still exists, so both storages would have the same logical ids; pass this storage to that AirflowOnEcs/],
  ])('refuses %s', (_name, build, message) => {
    expect(synthError(build)).toMatch(message);
  });
});
