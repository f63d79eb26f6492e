"""One task that succeeds and one that fails, for the metrics scenario: Airflow counts both
(ti_successes, ti_failures) and the airflow-metrics sidecars publish them to CloudWatch."""
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("e2e_metrics", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["e2e"]):

    @task
    def succeeds():
        return "ok"

    @task(retries=0)
    def fails():
        raise RuntimeError("this task fails on purpose (e2e metrics scenario)")

    succeeds()
    fails()
