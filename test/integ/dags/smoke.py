"""The integ tests' DAG (test/integ): one task on a Celery worker hands a value to a second one
through XCom, both through the Execution API. Baked into the basic app's image (the Dockerfile
beside this file) and synced by git-sync from this folder of the repository in the git-sync app."""
import socket
from datetime import datetime

from airflow.sdk import DAG, task

with DAG(
    "integ_smoke",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    is_paused_upon_creation=False,
    tags=["integ"],
):

    @task
    def produce():
        host = socket.gethostname()
        print(f"produce runs on {host}")
        return {"answer": 42, "host": host}

    @task
    def check(value):
        print(f"check got {value} from XCom")
        assert value["answer"] == 42, value

    check(produce())
