import { GitSyncOptions } from '../git-sync/git-sync-sidecar';

/**
 * Options for DAGs baked into the image.
 */
export interface ImageDagSourceOptions {
  /**
   * Where the DAG files are in the image.
   *
   * @default '/opt/airflow/dags' (the official image's `[core] dags_folder`)
   */
  readonly dagsFolder?: string;
}

/**
 * Where the Airflow components get DAG files from.
 */
export class DagSource {
  /**
   * DAGs from a git repository, kept in sync by a git-sync sidecar in every component that reads
   * DAG files (dag-processor, triggerer and Celery workers).
   */
  public static gitSync(options: GitSyncOptions): DagSource {
    return new DagSource(options, undefined);
  }

  /**
   * DAGs baked into your image (`AirflowImage.fromEcrRepository` or `AirflowImage.fromAsset`);
   * a new image version ships new DAGs.
   */
  public static fromImage(options: ImageDagSourceOptions = {}): DagSource {
    return new DagSource(undefined, options.dagsFolder);
  }

  /** The git-sync settings, for `DagSource.gitSync`. */
  public readonly gitSyncOptions?: GitSyncOptions;
  /** The DAG folder in the image, for `DagSource.fromImage`, if not the default. */
  public readonly imageDagsFolder?: string;

  private constructor(gitSync: GitSyncOptions | undefined, imageDagsFolder: string | undefined) {
    this.gitSyncOptions = gitSync;
    this.imageDagsFolder = imageDagsFolder;
  }
}
