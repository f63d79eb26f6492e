import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The problems with one construct's props. They are reported at synth, by the CDK's validation of
 * the whole construct tree, so that every problem of every construct appears in one error, each
 * line with the construct's path: `[Services/Airflow] workers.minCapacity (5) must be <= ...`.
 * Each message says what is wrong, the value received and the fix.
 */
export class Problems {
  /** Messages already reported in a construct tree: a problem found by several constructs is reported once. */
  private static readonly reported = new WeakMap<IConstruct, Set<string>>();

  private readonly messages: string[] = [];
  private readonly seen: Set<string>;

  constructor(scope: IConstruct) {
    const root = scope.node.root;
    this.seen = Problems.reported.get(root) ?? new Set();
    Problems.reported.set(root, this.seen);
    scope.node.addValidation({ validate: () => [...this.messages] });
  }

  public add(message: string): void {
    if (this.seen.has(message)) return;
    this.seen.add(message);
    this.messages.push(message);
  }

}

/** Whether a number is known at synth time (not a token). */
export function isConcrete(value: number | undefined): value is number {
  return value !== undefined && !Token.isUnresolved(value);
}

/** Whether a string is known at synth time (not a token). */
export function isConcreteString(value: string | undefined): value is string {
  return value !== undefined && !Token.isUnresolved(value);
}

/** Checks a whole number of at least `min`, such as a desired task count. */
export function checkCount(problems: Problems, prop: string, value: number | undefined, min: number): void {
  if (!isConcrete(value)) return;
  if (!Number.isInteger(value) || value < min) {
    problems.add(`${prop} (${value}) must be a whole number >= ${min}`);
  }
}
