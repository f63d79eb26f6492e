"""A task that runs through a database restart and an api-server restart."""
import time
from datetime import datetime, timedelta

from airflow.sdk import DAG, task

with DAG("e2e_resilience", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["e2e"]):

    @task(retries=2, retry_delay=timedelta(seconds=5))
    def steady(ti=None):
        for i in range(60):
            print(f"try {ti.try_number}: {i}", flush=True)
            time.sleep(1)

    steady()
