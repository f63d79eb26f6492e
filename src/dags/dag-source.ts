import { Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DagSourceBindOptions, DagSourceConfig, IDagSource } from './i-dag-source';
import { GitSyncDagSource } from '../git-sync/git-sync-dag-source';
import { GitSyncOptions } from '../git-sync/git-sync-options';
import { Problems } from '../private/validation';

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
 * Where the Airflow components get DAG files from. A source of your own implements `IDagSource`.
 */
export class DagSource {
  /**
   * DAGs from a git repository, kept in sync by a git-sync sidecar in every component that reads
   * DAG files (dag-processor, triggerer and Celery workers).
   */
  public static gitSync(options: GitSyncOptions): IDagSource {
    return new GitSyncDagSource(options);
  }

  /**
   * DAGs baked into your image (`AirflowImage.fromEcrRepository` or `AirflowImage.fromAsset`);
   * a new image version ships new DAGs.
   */
  public static fromImage(options: ImageDagSourceOptions = {}): IDagSource {
    return new ImageDagSource(options.dagsFolder ?? '/opt/airflow/dags');
  }

  private constructor() {}
}

/** DAGs in the image: nothing to add to the tasks. */
class ImageDagSource implements IDagSource {
  private validated = false;

  constructor(public readonly dagsFolder: string) {}

  public bind(scope: Construct, _options: DagSourceBindOptions): DagSourceConfig {
    if (!this.validated && !Token.isUnresolved(this.dagsFolder) && !/^\/[^\s]*$/.test(this.dagsFolder)) {
      new Problems(scope).add(`dags: DagSource.fromImage dagsFolder ('${this.dagsFolder}') must be an absolute path in the image, such as '/opt/airflow/dags'`);
    }
    this.validated = true;
    return {};
  }
}
