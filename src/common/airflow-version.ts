/**
 * An Apache Airflow release this library can deploy.
 *
 * The library configures Airflow through options that exist from Airflow 3.1 on (for example
 * `database.sql_alchemy_conn_async`), so releases before 3.1.0 are rejected.
 */
export class AirflowVersion {
  /** Apache Airflow 3.1.8, the default: every variable the library sets is checked against its options. */
  public static readonly V3_1_8 = new AirflowVersion('3.1.8');

  /**
   * Any Airflow release from 3.1.0 on, for example `AirflowVersion.of('3.1.9')`.
   *
   * @param version a release version such as `3.1.9` (no leading `v`, no image suffix)
   */
  public static of(version: string): AirflowVersion {
    return new AirflowVersion(version);
  }

  /** The version string, for example `3.1.8`. */
  public readonly version: string;

  private constructor(version: string) {
    const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
    if (!match) {
      throw new Error(`AirflowVersion.of('${version}'): not a release version; pass MAJOR.MINOR.PATCH such as '3.1.8' (no 'v' prefix, no '-python3.12' suffix)`);
    }
    const major = Number(match[1]);
    const minor = Number(match[2]);
    if (major !== 3 || minor < 1) {
      throw new Error(`AirflowVersion.of('${version}'): cdk-airflow-ecs deploys Airflow 3.1 and later 3.x releases; use AirflowVersion.V3_1_8 or a newer 3.x release`);
    }
    this.version = version;
  }
}
