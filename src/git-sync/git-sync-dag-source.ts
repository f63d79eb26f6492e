import { Construct } from 'constructs';
import { gitSyncDagsFolder } from './commands';
import { GitSyncOptions } from './git-sync-options';
import { GitSyncSidecar } from './git-sync-sidecar';
import { validateGitSync, VALIDATED } from './validation';
import { ImageMirror } from '../common/image-mirror';
import { DagSourceBindOptions, DagSourceConfig, IDagSource } from '../dags/i-dag-source';
import { DEFAULTS } from '../private/defaults';
import { Problems } from '../private/validation';

/**
 * DAGs from a git repository: a git-sync sidecar in every component that reads DAG files. The
 * options are checked once, at the first component, with their prop path `dags.`.
 */
export class GitSyncDagSource implements IDagSource {
  public readonly dagsFolder: string;
  private validated = false;

  constructor(private readonly options: GitSyncOptions) {
    this.dagsFolder = gitSyncDagsFolder(options.subPath, DEFAULTS.gitSync.mountPath);
  }

  public bind(scope: Construct, options: DagSourceBindOptions): DagSourceConfig {
    if (!this.validated) {
      validateGitSync(new Problems(scope), this.options, 'dags.');
      this.validated = true;
    }
    const sidecar = new GitSyncSidecar(scope, 'GitSync', {
      ...this.options,
      taskDefinition: options.taskDefinition,
      container: options.container,
      logGroup: options.logGroup,
      // the default image through the component's mirror, copied by a function in the tasks' VPC
      image: this.options.image
        ?? (options.imageMirror ?? ImageMirror.ecr()).bind(DEFAULTS.gitSync.image, { vpc: options.vpc, vpcSubnets: options.vpcSubnets }),
      // every component gets the same [core] dags_folder from the source
      setDagsFolder: false,
      [VALIDATED]: true,
    } as any);
    return { syncErrorsMetric: sidecar.metricSyncErrors(), syncErrorsAlarm: sidecar.syncErrorsAlarm };
  }
}
