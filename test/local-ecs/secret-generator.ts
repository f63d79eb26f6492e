/**
 * Secrets Manager's password generator as CloudFormation's `GenerateSecretString` uses it
 * (GetRandomPassword): PasswordLength (default 32), the Exclude* classes, ExcludeCharacters,
 * IncludeSpace, RequireEachIncludedType (default true) and SecretStringTemplate + GenerateStringKey.
 */

export interface GenerateSecretStringSpec {
  readonly PasswordLength?: number;
  readonly ExcludeCharacters?: string;
  readonly ExcludeLowercase?: boolean;
  readonly ExcludeUppercase?: boolean;
  readonly ExcludeNumbers?: boolean;
  readonly ExcludePunctuation?: boolean;
  readonly IncludeSpace?: boolean;
  readonly RequireEachIncludedType?: boolean;
  readonly SecretStringTemplate?: string;
  readonly GenerateStringKey?: string;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
/** The 32 ASCII punctuation characters GetRandomPassword draws from. */
export const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** Generates a value; `random(n)` returns an integer in [0, n). */
export function generateSecretString(spec: GenerateSecretStringSpec, random: (n: number) => number): string {
  const length = spec.PasswordLength ?? 32;
  const excluded = new Set(spec.ExcludeCharacters ?? '');
  const classes = [
    spec.ExcludeLowercase ? '' : LOWER,
    spec.ExcludeUppercase ? '' : UPPER,
    spec.ExcludeNumbers ? '' : DIGITS,
    spec.ExcludePunctuation ? '' : PUNCTUATION,
    spec.IncludeSpace ? ' ' : '',
  ].map(c => [...c].filter(ch => !excluded.has(ch)).join('')).filter(c => c.length > 0);
  if (classes.length === 0) throw new Error('GenerateSecretString excludes every character');
  const all = classes.join('');
  const chars: string[] = [];
  // RequireEachIncludedType (default true): at least one character of every class still included
  if (spec.RequireEachIncludedType ?? true) {
    if (classes.length > length) throw new Error(`GenerateSecretString: PasswordLength ${length} is shorter than the ${classes.length} required character types`);
    for (const c of classes) chars.push(c[random(c.length)]);
  }
  while (chars.length < length) chars.push(all[random(all.length)]);
  // shuffle, so the required characters are not always first
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  const password = chars.join('');
  if (spec.GenerateStringKey === undefined && spec.SecretStringTemplate === undefined) return password;
  if (spec.GenerateStringKey === undefined || spec.SecretStringTemplate === undefined) {
    throw new Error('GenerateSecretString: SecretStringTemplate and GenerateStringKey must be given together');
  }
  const json = JSON.parse(spec.SecretStringTemplate);
  json[spec.GenerateStringKey] = password;
  return JSON.stringify(json);
}
