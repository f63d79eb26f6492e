"""The basic example in Python: examples/basic/app.ts, line for line.

Airflow 3 on ECS Fargate as two stacks, the way the story split it. scripts/bindings/run.sh
synthesizes it with the wheel jsii-pacmak builds and checks that its templates have the same
resources as the TypeScript app's.
"""
from typing import Optional

from aws_cdk import App, Stack, StackProps
from constructs import Construct

from cdk_airflow_ecs import AirflowImage, AirflowOnEcs, AirflowStorage, AirflowVersion, AirflowWorkerOptions


class AirflowStorageStack(Stack):
    """The stateful half: VPC, PostgreSQL, Valkey, log bucket and secrets. Deploy once, keep."""

    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.storage = AirflowStorage(self, "Storage")


class AirflowServicesStack(Stack):
    """The stateless half: ECS services, load balancer, migrations. Destroy and recreate at will."""

    def __init__(self, scope: Construct, id: str, *, storage: AirflowStorage, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        # `cdk synth -c airflowVersion=3.1.8` deploys another supported release; the default is the newest
        version: Optional[str] = self.node.try_get_context("airflowVersion")
        # outputs the Airflow URL and the admin password's secret
        AirflowOnEcs(
            self,
            "Airflow",
            storage=storage,
            image=AirflowImage.official(AirflowVersion.of(version)) if version else None,
            # 0–10 workers following the task queue, 75% on Fargate Spot (the defaults, spelled out)
            workers=AirflowWorkerOptions(min_capacity=0, max_capacity=10),
        )


def create_app(app: Optional[App] = None) -> App:
    """The example's app."""
    app = app or App()
    storage = AirflowStorageStack(app, "AirflowStorage")
    AirflowServicesStack(app, "AirflowServices", storage=storage.storage)
    return app


if __name__ == "__main__":
    create_app().synth()
