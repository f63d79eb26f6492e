"""For the secrets-backend scenario: a connection and a variable that exist only in Secrets Manager
(the scenario creates them), read by a task on a worker; a missing variable falls back to its default."""
from datetime import datetime

from airflow.sdk import DAG, Connection, Variable, task

with DAG("e2e_secrets_backend", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, tags=["e2e"]):

    @task(retries=0)
    def read_from_secrets_manager(params=None):
        conn = Connection.get("e2e_backend_conn")
        value = Variable.get("e2e_backend_var")
        missing = Variable.get("e2e_backend_missing", default="absent")
        got = {"host": conn.host, "login": conn.login, "password": conn.password, "variable": value, "missing": missing}
        print(f"from the secrets backend: host={conn.host} login={conn.login} variable={value} missing={missing}")
        expected = {"host": "backend.example.com", "login": "e2e", "password": "p@ss/w:rd%", "variable": "from-secrets-manager", "missing": "absent"}
        assert got == expected, f"got {got}, expected {expected}"
        return got["variable"]

    read_from_secrets_manager()
