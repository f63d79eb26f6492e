// The basic example in Java: examples/basic/app.ts, line for line.
// Airflow 3 on ECS Fargate as two stacks, the way the story split it.
package example;

import io.github.cdkairflowecs.AirflowImage;
import io.github.cdkairflowecs.AirflowOnEcs;
import io.github.cdkairflowecs.AirflowStorage;
import io.github.cdkairflowecs.AirflowVersion;
import io.github.cdkairflowecs.AirflowWorkerOptions;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.constructs.Construct;

public final class BasicApp {
    /** The stateful half: VPC, PostgreSQL, Valkey, log bucket and secrets. Deploy once, keep. */
    public static class AirflowStorageStack extends Stack {
        private final AirflowStorage storage;

        public AirflowStorageStack(final Construct scope, final String id, final StackProps props) {
            super(scope, id, props);
            this.storage = new AirflowStorage(this, "Storage");
        }

        public AirflowStorage getStorage() {
            return storage;
        }
    }

    /** The stateless half: ECS services, load balancer, migrations. Destroy and recreate at will. */
    public static class AirflowServicesStack extends Stack {
        public AirflowServicesStack(final Construct scope, final String id, final StackProps props, final AirflowStorage storage) {
            super(scope, id, props);
            // `cdk synth -c airflowVersion=3.1.8` deploys another supported release; the default is the newest
            final Object version = this.getNode().tryGetContext("airflowVersion");
            // outputs the Airflow URL and the admin password's secret
            AirflowOnEcs.Builder.create(this, "Airflow")
                .storage(storage)
                .image(version != null ? AirflowImage.official(AirflowVersion.of(version.toString())) : null)
                // 0–10 workers following the task queue, 75% on Fargate Spot (the defaults, spelled out)
                .workers(AirflowWorkerOptions.builder().minCapacity(0).maxCapacity(10).build())
                .build();
        }
    }

    /** The example's app. */
    public static App createApp(final App app) {
        final AirflowStorageStack storage = new AirflowStorageStack(app, "AirflowStorage", null);
        new AirflowServicesStack(app, "AirflowServices", null, storage.getStorage());
        return app;
    }

    public static void main(final String[] args) {
        createApp(new App()).synth();
    }

    private BasicApp() {
    }
}
