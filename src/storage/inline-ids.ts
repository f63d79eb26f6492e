import { createHash } from 'crypto';
import { Aspects, CfnElement, IAspect, Stack, Token } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

/**
 * The id `new AirflowOnEcs(scope, id)` gives the storage it creates inline (`airflow.storage`):
 * `<AirflowOnEcs path>/Storage`.
 */
const INLINE_STORAGE_ID = 'Storage';

/**
 * The CDK's logical id of a path of construct ids below a stack: the ids joined (without
 * "Resource" and "Default") and the first 8 hex digits of the path's MD5 (aws-cdk-lib's
 * `makeUniqueId`; test/storage/storage-move.test.ts fails if aws-cdk-lib ever computes it otherwise).
 */
export function logicalIdOf(components: string[]): string {
  const ids = components.filter(c => c !== 'Default');
  const alphanumeric = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');
  if (ids.length === 1 && alphanumeric(ids[0]).length <= 255) return alphanumeric(ids[0]);
  const hash = createHash('md5').update(ids.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const id of ids) if (human.length === 0 || !human[human.length - 1].endsWith(id)) human.push(id);
  return human.filter(c => c !== 'Resource').map(alphanumeric).join('').slice(0, 240) + hash;
}

/** The path components of `inlineStorageOf`, or a problem with it. */
export function inlinePath(value: string): { components?: string[]; problem?: string } {
  const components = value.split('/');
  if (Token.isUnresolved(value) || value === '' || components.some(c => c === '')) {
    return { problem: `inlineStorageOf ('${value}') must be the construct path of the AirflowOnEcs from its stack, such as 'Airflow' or 'Platform/Airflow'` };
  }
  return { components };
}

/**
 * Gives every CloudFormation element below `storage` (what it creates and what others add to it
 * later, such as security group rules) the logical id it had below `<airflowPath>/Storage`, when
 * the templates are synthesized.
 */
export function keepInlineLogicalIds(storage: Construct, airflowPath: string[]): void {
  const stack = Stack.of(storage);
  const own = storage.node.scopes.length;
  const aspect: IAspect = {
    visit(node: IConstruct) {
      if (!(node instanceof CfnElement) || node.stack !== stack) return;
      const below = node.node.scopes.slice(own).map(c => c.node.id);
      node.overrideLogicalId(logicalIdOf([...airflowPath, INLINE_STORAGE_ID, ...below]));
    },
  };
  Aspects.of(storage).add(aspect);
}

/**
 * `Names.uniqueId` of the inline storage (`<stack path>/<airflowPath>/Storage`), which names its
 * SSM parameters.
 */
export function inlineUniqueId(storage: Construct, airflowPath: string[]): string {
  const stackPath = Stack.of(storage).node.scopes.slice(1).map(c => c.node.id);
  return logicalIdOf([...stackPath, ...airflowPath, INLINE_STORAGE_ID]);
}

/** Whether the storage's stack has a construct at `airflowPath` (the AirflowOnEcs it moved out of). */
export function airflowInSameStack(storage: Construct, airflowPath: string[]): boolean {
  let scope: IConstruct | undefined = Stack.of(storage);
  for (const id of airflowPath) scope = scope?.node.tryFindChild(id);
  return scope !== undefined;
}

/**
 * The construct that still creates its storage inline at `<airflowPath>/Storage` in the same stack,
 * if any: with it, the two storages would have the same logical ids.
 */
export function inlineStorageStillThere(storage: Construct, airflowPath: string[]): IConstruct | undefined {
  let scope: IConstruct | undefined = Stack.of(storage);
  for (const id of [...airflowPath, INLINE_STORAGE_ID]) scope = scope?.node.tryFindChild(id);
  return scope !== undefined && scope !== storage ? scope : undefined;
}
