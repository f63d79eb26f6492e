"""Many parallel tasks, so the queue-metrics sidecar asks for more than one worker: 12 tasks for
workers of 8 slots, each long enough that the 4 left waiting are still queued when the second
worker is up (a worker starts in 1 to 3 minutes)."""
import socket
import time
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("e2e_burst", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, max_active_tasks=32, tags=["e2e"]):

    @task
    def work(n: int):
        print(f"task {n} on {socket.gethostbyname(socket.getfqdn())}")
        time.sleep(200)
        return n

    work.expand(n=list(range(12)))
