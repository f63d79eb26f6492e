// Worker pools: light tasks on small Spot workers, heavy ones on big on-demand workers.
// A task goes to the heavy pool with `queue='heavy'` on its operator; every other task runs on
// the default pool. In your own app, import from 'cdk-airflow-ecs' instead of '../../src'.
import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AirflowOnEcs, AirflowStorage } from '../../src';

class AirflowStorageStack extends Stack {
  public readonly storage: AirflowStorage;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.storage = new AirflowStorage(this, 'Storage');
  }
}

class AirflowServicesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { storage: AirflowStorage }) {
    super(scope, id, props);
    // outputs the Airflow URL and the admin password's secret
    new AirflowOnEcs(this, 'Airflow', {
      storage: props.storage,
      // the default pool: the `default` queue, 0–10 workers of 1 vCPU / 3 GiB, 75% on Fargate Spot
      workers: { minCapacity: 0, maxCapacity: 10 },
      workerPools: {
        // the heavy pool: the `heavy` queue, 0–3 workers of 4 vCPU / 16 GiB, 2 tasks each, on-demand only
        heavy: { queues: ['heavy'], cpu: 4096, memoryLimitMiB: 16384, concurrency: 2, minCapacity: 0, maxCapacity: 3, spot: false },
      },
    });
  }
}

/** The example's app; tests build it to run AWS's checks on it. */
export function createApp(app: App = new App()): App {
  const storage = new AirflowStorageStack(app, 'AirflowPoolsStorage');
  new AirflowServicesStack(app, 'AirflowPoolsServices', { storage: storage.storage });
  return app;
}

if (require.main === module) {
  createApp().synth();
}
