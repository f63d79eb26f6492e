"""The local ECS runtime's end-to-end DAG: a task on a Celery worker that reads a Variable and a
Connection (through the Execution API), a deferrable sensor the triggerer resumes, and a task that
logs for a while, so its log can be read live from the worker and later from S3."""
import socket
import time
from datetime import datetime

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG, Connection, Variable, task

with DAG("e2e_pipeline", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["e2e"]):

    @task
    def read_variable_and_connection():
        greeting = Variable.get("e2e_greeting")
        conn = Connection.get("e2e_http")
        print(f"variable e2e_greeting = {greeting}")
        print(f"connection e2e_http = {conn.conn_type}://{conn.host}:{conn.port}, login {conn.login}")
        print(f"running on {socket.gethostname()} ({socket.gethostbyname(socket.getfqdn())})")
        assert greeting == "hello from the local ECS runtime", greeting
        assert conn.host == "example.com" and conn.port == 8443 and conn.login == "e2e", conn
        assert conn.password == "p@ss w0rd:/%", "the connection password did not survive the round trip"
        return socket.gethostbyname(socket.getfqdn())

    # always defers: the target is rendered when the task starts, 15 s ahead
    wait = DateTimeSensorAsync(task_id="wait_deferred", target_time="{{ macros.datetime.utcnow() + macros.timedelta(seconds=15) }}")

    @task
    def long_log():
        for i in range(1, 31):
            print(f"progress {i} of 30", flush=True)
            time.sleep(2)
        print("long_log done")

    read_variable_and_connection() >> wait >> long_log()
