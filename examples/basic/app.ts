// The basic example: Airflow 3 on ECS Fargate as two stacks, the way the story split it.
// In your own app, import from 'cdk-airflow-ecs' instead of '../../src'.
import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AirflowImage, AirflowOnEcs, AirflowStorage, AirflowStorageProps, AirflowVersion } from '../../src';

/** What the integ test (test/integ/integ.basic.ts) changes; the example itself uses the defaults. */
export interface BasicExampleOptions {
  /** The storage's settings. @default - the defaults: the database and secrets outlive the stack */
  readonly storage?: AirflowStorageProps;
  /** Put before the stacks' names, to deploy beside the example. @default - the stacks' names are their ids */
  readonly stackNamePrefix?: string;
  /** The image. @default - the official image of the newest release, or of `-c airflowVersion=<version>` */
  readonly image?: AirflowImage;
  /** What `npm run bench` prices beside the defaults. @default false - one service per component */
  readonly compactControlPlane?: boolean;
}

/** The stateful half: VPC, PostgreSQL, Valkey, log bucket and secrets. Deploy once, keep. */
class AirflowStorageStack extends Stack {
  public readonly storage: AirflowStorage;

  constructor(scope: Construct, id: string, props?: StackProps & { storageProps?: AirflowStorageProps }) {
    super(scope, id, props);
    this.storage = new AirflowStorage(this, 'Storage', props?.storageProps);
  }
}

/** The stateless half: ECS services, load balancer, migrations. Destroy and recreate at will. */
class AirflowServicesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { storage: AirflowStorage; image?: AirflowImage; compactControlPlane?: boolean }) {
    super(scope, id, props);
    // `cdk synth -c airflowVersion=3.1.8` deploys another supported release; the default is the newest
    const version = this.node.tryGetContext('airflowVersion');
    // outputs the Airflow URL and the admin password's secret
    new AirflowOnEcs(this, 'Airflow', {
      storage: props.storage,
      image: props.image ?? (version ? AirflowImage.official(AirflowVersion.of(version)) : undefined),
      // 0–10 workers following the task queue, 75% on Fargate Spot (the defaults, spelled out)
      workers: { minCapacity: 0, maxCapacity: 10 },
      compactControlPlane: props.compactControlPlane,
    });
  }
}

/** The example's app; tests build it to run AWS's checks on it. */
export function createApp(app: App = new App(), options: BasicExampleOptions = {}): App {
  const stackName = (id: string) => (options.stackNamePrefix ? `${options.stackNamePrefix}${id}` : undefined);
  const storage = new AirflowStorageStack(app, 'AirflowStorage', { storageProps: options.storage, stackName: stackName('AirflowStorage') });
  new AirflowServicesStack(app, 'AirflowServices', {
    stackName: stackName('AirflowServices'), storage: storage.storage, image: options.image, compactControlPlane: options.compactControlPlane,
  });
  return app;
}

if (require.main === module) {
  createApp().synth();
}
