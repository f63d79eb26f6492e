/**
 * What the runtime runs for an image name. There is no container engine: an "image" is the host's
 * file system plus a layer with what the image adds (test/local-ecs/README.md lists the
 * differences), and the image's configuration (entrypoint, command, user, working directory,
 * environment).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CertificateAuthority } from './ca';
import { ensureAirflow } from './python-env';

export interface ImageConfig {
  readonly name: string;
  /** The directory with the files the image adds to the host's file system. */
  readonly layer: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** `uid[:gid]`. */
  readonly user: string;
  readonly workdir: string;
  readonly env: Record<string, string>;
  /** The Airflow release, for Airflow images. */
  readonly airflowVersion?: string;
  /** The Python environment that holds Airflow. */
  readonly venv?: string;
}

/** The official image's user: uid 50000, primary group 0. */
const AIRFLOW_UID = 50000;

export const OFFICIAL_AIRFLOW = /^(?:docker\.io\/)?(?:library\/)?apache\/airflow:(\d+\.\d+\.\d+)(?:-python(\d+\.\d+))?$/;
const GIT_SYNC = /(^|\/)git-sync(\/git-sync)?:/;

export interface ImageOptions {
  /** DAG files to put in the Airflow image (DAGs baked into the image). */
  readonly dags?: string;
  /** Where the image holds its DAG files: the task definitions' `[core] dags_folder`. @default /opt/airflow/dags */
  readonly dagsFolder?: string;
  /** Image names (or prefixes) to run as another image, e.g. an ECR image as `apache/airflow:3.3.2`. */
  readonly aliases?: Record<string, string>;
  /** The deployment's copies of upstream images in ECR: ECR name to upstream name (`Deployment.imageCopies()`). */
  readonly copies?: Record<string, string>;
}

/**
 * The image the runtime runs for a task definition's image name: an ECR copy made by the
 * deployment runs as the upstream image it was copied from (the official `apache/airflow:<version>`
 * whose tag says the Airflow and Python versions), then `--image` aliases apply.
 */
export function effectiveImageName(name: string, options: Pick<ImageOptions, 'aliases' | 'copies'>): string {
  const upstream = options.copies?.[name] ?? name;
  const alias = Object.entries(options.aliases ?? {}).find(([from]) => name === from || name.startsWith(from) || upstream === from);
  return alias ? alias[1] : upstream;
}

export class Images {
  private readonly cache = new Map<string, ImageConfig>();

  constructor(private readonly dir: string, private readonly ca: CertificateAuthority, private readonly options: ImageOptions = {}) {}

  public resolve(name: string): ImageConfig {
    const effective = effectiveImageName(name, this.options);
    const cached = this.cache.get(effective);
    if (cached) return cached;
    let config: ImageConfig;
    const airflow = OFFICIAL_AIRFLOW.exec(effective);
    if (airflow) {
      config = this.airflowImage(effective, airflow[1]);
    } else if (GIT_SYNC.test(effective)) {
      throw new Error(`image ${effective}: the local ECS runtime cannot run git-sync. It would build git-sync from its Go module `
        + '(k8s.io/git-sync), but the Go module proxy these machines reach refuses that module (403 "This module version is not available"), '
        + 'and no other source of the program may be used. Run an app with DAGs baked into the image instead (DagSource.fromImage()).');
    } else {
      throw new Error(`image ${name}: the local ECS runtime runs the official apache/airflow:<version> images only; `
        + `run your own image as the release it is built on with --image '${name}=apache/airflow:<version>'`);
    }
    this.cache.set(effective, config);
    return config;
  }

  /** The official apache/airflow image of a release: Airflow from PyPI at that version, our entrypoint. */
  private airflowImage(name: string, version: string): ImageConfig {
    const venv = ensureAirflow(version);
    const layer = path.join(this.dir, `airflow-${version}`);
    fs.rmSync(layer, { recursive: true, force: true });
    const mk = (p: string, mode: number, uid = 0, gid = 0) => {
      fs.mkdirSync(path.join(layer, p), { recursive: true });
      fs.chmodSync(path.join(layer, p), mode);
      fs.chownSync(path.join(layer, p), uid, gid);
    };
    mk('opt/airflow', 0o775, AIRFLOW_UID, 0);
    for (const d of ['dags', 'logs', 'plugins', 'config']) mk(`opt/airflow/${d}`, 0o775, AIRFLOW_UID, 0);
    mk('home/airflow', 0o755, AIRFLOW_UID, 0);
    mk('etc/ssl/certs', 0o755);
    mk('usr/bin', 0o755);
    if (this.options.dags) {
      const folder = path.join(layer, (this.options.dagsFolder ?? '/opt/airflow/dags').replace(/^\/+/, ''));
      fs.mkdirSync(folder, { recursive: true });
      fs.cpSync(this.options.dags, folder, { recursive: true });
      chownTree(path.join(layer, 'opt/airflow'), AIRFLOW_UID, 0);
    }
    // the airflow user (uid 50000, group 0), and /etc/passwd group-writable as in the image
    const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n').filter(l => l && !l.startsWith('airflow:') && !l.includes(`:${AIRFLOW_UID}:`));
    passwd.push(`airflow:x:${AIRFLOW_UID}:0::/home/airflow:/bin/bash`);
    fs.writeFileSync(path.join(layer, 'etc/passwd'), passwd.join('\n') + '\n', { mode: 0o664 });
    fs.writeFileSync(path.join(layer, 'etc/ssl/certs/ca-certificates.crt'), this.ca.bundle(), { mode: 0o644 });
    fs.copyFileSync(path.join(__dirname, 'image', 'entrypoint.sh'), path.join(layer, 'entrypoint'));
    fs.chmodSync(path.join(layer, 'entrypoint'), 0o755);
    fs.symlinkSync(path.join(venv, 'bin', 'dumb-init'), path.join(layer, 'usr/bin/dumb-init'));
    return {
      name,
      layer,
      entrypoint: ['/usr/bin/dumb-init', '--', '/entrypoint'],
      cmd: [],
      user: `${AIRFLOW_UID}`,
      workdir: '/opt/airflow',
      airflowVersion: version,
      venv,
      env: {
        PATH: `${venv}/bin:/home/airflow/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        VIRTUAL_ENV: venv,
        LANG: 'C.UTF-8',
        LC_ALL: 'C.UTF-8',
        LANGUAGE: 'C.UTF-8',
        AIRFLOW_HOME: '/opt/airflow',
        AIRFLOW_USER_HOME_DIR: '/home/airflow',
        AIRFLOW_UID: `${AIRFLOW_UID}`,
        AIRFLOW_VERSION: version,
        AIRFLOW_IMAGE_TYPE: 'prod',
        DUMB_INIT_SETSID: '1',
        AIRFLOW__CORE__LOAD_EXAMPLES: 'false',
        PIP_CACHE_DIR: '/tmp/.cache/pip',
      },
    };
  }
}

function chownTree(p: string, uid: number, gid: number): void {
  fs.chownSync(p, uid, gid);
  if (fs.statSync(p).isDirectory()) for (const f of fs.readdirSync(p)) chownTree(path.join(p, f), uid, gid);
}
