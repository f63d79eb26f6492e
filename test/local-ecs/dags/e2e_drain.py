"""For the draining scenario: a long task that is running on a worker when a new worker deployment
becomes primary (it must finish there), and short tasks started after that (they must run on the
new deployment's worker, not on the draining one)."""
import socket
import time
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("e2e_drain_long", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["e2e"]):

    @task(retries=0)
    def long_running():
        print(f"long_running on {socket.gethostbyname(socket.getfqdn())}")
        time.sleep(150)
        return "done"

    long_running()

with DAG("e2e_drain_short", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, max_active_tasks=16, tags=["e2e"]):

    @task(retries=0)
    def short(n: int):
        print(f"short {n} on {socket.gethostbyname(socket.getfqdn())}")
        time.sleep(5)
        return n

    short.expand(n=list(range(4)))
