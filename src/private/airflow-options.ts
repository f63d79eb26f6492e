import * as fs from 'fs';
import * as path from 'path';
import type { AirflowVersion } from '../common/airflow-version';

/**
 * The configuration options of one Airflow minor release (core and the providers of the official
 * image), from assets/airflow-config/<minor>.json, which is derived from the reference generated
 * from the real packages (test/fixtures/airflow-config/<version>.json).
 */
export class AirflowOptions {
  /** The options of the release's minor; a minor newer than every reference uses the newest. */
  public static of(version: AirflowVersion): AirflowOptions {
    const dir = path.join(__dirname, '..', '..', 'assets', 'airflow-config');
    const minors = fs.readdirSync(dir).filter(f => f.endsWith('.json')).map(f => f.replace(/\.json$/, ''))
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    const minor = minors.includes(version.minorVersion) ? version.minorVersion : minors[minors.length - 1];
    let options = AirflowOptions.cache.get(minor);
    if (!options) {
      options = new AirflowOptions(JSON.parse(fs.readFileSync(path.join(dir, `${minor}.json`), 'utf8')));
      AirflowOptions.cache.set(minor, options);
    }
    return options;
  }

  private static readonly cache = new Map<string, AirflowOptions>();

  /** The release the reference was read from, such as `3.3.2`. */
  public readonly airflowVersion: string;
  private readonly names: Set<string>;
  private readonly sensitiveNames: Set<string>;
  private readonly deprecations: Record<string, string>;

  private constructor(index: { airflowVersion: string; options: string[]; sensitive: string[]; deprecated: Record<string, string> }) {
    this.airflowVersion = index.airflowVersion;
    this.names = new Set(index.options);
    this.sensitiveNames = new Set(index.sensitive);
    this.deprecations = index.deprecated;
  }

  public has(env: string): boolean {
    return this.names.has(env);
  }

  public isSensitive(env: string): boolean {
    return this.sensitiveNames.has(env);
  }

  /** What replaces a deprecated option (an environment name), or why it is deprecated. */
  public deprecation(env: string): string | undefined {
    return this.deprecations[env];
  }

  /** The valid, current option closest to a misspelled name. */
  public nearest(env: string): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const name of this.names) {
      if (this.deprecations[name]) continue;
      const d = distance(env, name);
      if (d < bestDistance) {
        best = name;
        bestDistance = d;
      }
    }
    // a suggestion only when it is plausibly the same option
    return best !== undefined && bestDistance <= Math.max(3, Math.floor(env.length / 4)) ? best : undefined;
  }
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
