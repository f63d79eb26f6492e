/**
 * An Apache Airflow release this library can deploy: 3.1.0 and every later 3.x release.
 *
 * The constants are the newest patch of each minor release the library is tested with (its
 * configuration is checked against that release's own option reference, and the local ECS runtime
 * runs it). `AirflowVersion.of()` accepts other 3.x releases from 3.1 on; a release newer than the
 * newest tested one gets a warning at synth.
 */
export class AirflowVersion {
  /** Apache Airflow 3.1.8, the newest 3.1 release and the oldest release the library supports. */
  public static readonly V3_1_8 = new AirflowVersion('3.1.8');

  /** Apache Airflow 3.2.2, the newest 3.2 release. */
  public static readonly V3_2_2 = new AirflowVersion('3.2.2');

  /** Apache Airflow 3.3.2, the newest 3.3 release and the newest stable release on PyPI: the default. */
  public static readonly V3_3_2 = new AirflowVersion('3.3.2');

  /** The newest release the library is tested with, which it deploys by default. */
  public static latest(): AirflowVersion {
    return AirflowVersion.V3_3_2;
  }

  /** Every release the library is tested with, oldest first. */
  public static tested(): AirflowVersion[] {
    return [AirflowVersion.V3_1_8, AirflowVersion.V3_2_2, AirflowVersion.V3_3_2];
  }

  /**
   * Any Airflow release from 3.1.0 on, for example `AirflowVersion.of('3.2.1')`.
   *
   * @param version a release version such as `3.2.1` (no leading `v`, no image suffix)
   */
  public static of(version: string): AirflowVersion {
    const tested = AirflowVersion.tested().find(v => v.version === version);
    return tested ?? new AirflowVersion(version);
  }

  /** The version string, for example `3.3.2`. */
  public readonly version: string;
  /** The minor release, for example `3.3`. */
  public readonly minorVersion: string;

  private readonly parts: number[];

  private constructor(version: string) {
    const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
    const supported = 'cdk-airflow-ecs deploys Airflow 3.1.0 and later 3.x releases';
    if (!match) {
      throw new Error(`AirflowVersion.of('${version}'): not a release version; ${supported}. Pass MAJOR.MINOR.PATCH such as '3.3.2' `
        + '(no \'v\' prefix, no pre-release, no \'-python3.12\' suffix: choose the Python version with AirflowImage.official(version, { pythonVersion }))');
    }
    this.parts = match.slice(1, 4).map(Number);
    const [major, minor] = this.parts;
    if (major !== 3 || minor < 1) {
      const why = major < 3 ? 'Airflow 2 has no api-server, dag-processor or Execution API'
        : major === 3 && minor === 0 ? 'Airflow 3.0 lacks options the library sets (database.sql_alchemy_conn_async among them)'
          : 'the library does not know this major release';
      throw new Error(`AirflowVersion.of('${version}'): ${supported} (${why}); use AirflowVersion.latest() (${AirflowVersion.V3_3_2.version}) or another release from 3.1.0 on`);
    }
    this.version = version;
    this.minorVersion = `${major}.${minor}`;
  }

  /** Whether this release is the given one or later, for example `isAtLeast('3.2.0')`. */
  public isAtLeast(version: string): boolean {
    const other = version.split('.').map(Number);
    for (let i = 0; i < 3; i++) {
      if (this.parts[i] !== (other[i] ?? 0)) return this.parts[i] > (other[i] ?? 0);
    }
    return true;
  }

  /** Whether this release is newer than every release the library is tested with. */
  public get isNewerThanTested(): boolean {
    const latest = AirflowVersion.latest();
    return this.version !== latest.version && this.isAtLeast(latest.version);
  }
}
