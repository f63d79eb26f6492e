/**
 * One Airflow component; each runs as its own ECS Fargate service.
 */
export class AirflowComponent {
  /** `airflow api-server`: the UI, the REST API and the Execution API that workers call. */
  public static readonly API_SERVER = new AirflowComponent('api-server');
  /** `airflow scheduler`: schedules DAG runs and sends tasks to the Celery broker. */
  public static readonly SCHEDULER = new AirflowComponent('scheduler');
  /** `airflow dag-processor`: parses DAG files (a separate process is required in Airflow 3). */
  public static readonly DAG_PROCESSOR = new AirflowComponent('dag-processor');
  /** `airflow triggerer`: runs deferred tasks' triggers. */
  public static readonly TRIGGERER = new AirflowComponent('triggerer');
  /** `airflow celery worker`: runs tasks taken from the Celery broker. */
  public static readonly CELERY_WORKER = new AirflowComponent('celery-worker');

  /** Every component, in the order they are described in the documentation. */
  public static all(): AirflowComponent[] {
    return [
      AirflowComponent.API_SERVER,
      AirflowComponent.SCHEDULER,
      AirflowComponent.DAG_PROCESSOR,
      AirflowComponent.TRIGGERER,
      AirflowComponent.CELERY_WORKER,
    ];
  }

  /** The component's name, such as `scheduler`; also its container name. */
  public readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }
}
