"""Warm shutdown: a short task that finishes within the worker's stop timeout, and a long one that
does not (it is killed, then retried by the scheduler; the retry is quick)."""
import time
from datetime import datetime, timedelta

from airflow.sdk import DAG, task

with DAG("e2e_shutdown", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["e2e"]):

    @task
    def short_task():
        for i in range(40):
            print(f"short {i}", flush=True)
            time.sleep(1)

    @task(retries=1, retry_delay=timedelta(seconds=5))
    def long_task(ti=None):
        seconds = 180 if ti.try_number == 1 else 5
        for i in range(seconds):
            print(f"long try {ti.try_number}: {i}", flush=True)
            time.sleep(1)

    short_task()
    long_task()
