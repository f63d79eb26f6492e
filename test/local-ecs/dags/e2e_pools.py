"""Worker pools: three tasks on the default queue and three on the `heavy` queue. They wait in the
queue while each pool starts from zero, which is when the queue-metrics sidecar publishes each pool's
need (the heavy pool of examples/worker-pools runs 2 tasks per worker, the default pool 8). Only deployments with a `heavy` pool run it."""
import socket
import time
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("e2e_pools", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, max_active_tasks=32, tags=["e2e"]):

    @task
    def light(n: int):
        print(f"light task {n} on {socket.gethostbyname(socket.getfqdn())}")
        time.sleep(30)

    @task(queue="heavy")
    def heavy(n: int):
        print(f"heavy task {n} on {socket.gethostbyname(socket.getfqdn())}")
        time.sleep(30)

    light.expand(n=[0, 1, 2])
    heavy.expand(n=[0, 1, 2])
