"""Runs what the Airflow containers run, against real services, and prints JSON.

Each check evaluates the library's `AIRFLOW__..._CMD` variables exactly the way Airflow does
(`run_command` in airflow-core/src/airflow/configuration.py: `shlex.split`, `subprocess.Popen`
without a shell, standard output decoded and used as is) and then uses the value with the same
client library Airflow uses: SQLAlchemy + psycopg2, SQLAlchemy + asyncpg, Celery's database
result backend, kombu's Redis transport and cryptography's Fernet.

Usage: check_runtime.py CHECK   (the environment holds the container's variables)
"""
import asyncio
import json
import os
import shlex
import subprocess
import sys


def run_command(command: str) -> str:
    """Airflow's run_command: no shell, no strip."""
    process = subprocess.Popen(shlex.split(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
    output, stderr = (stream.decode(sys.getdefaultencoding(), "ignore") for stream in process.communicate())
    if process.returncode != 0:
        raise RuntimeError(f"command {command!r} failed with {process.returncode}: {stderr}")
    return output


def option(name: str) -> str:
    return run_command(os.environ[f"{name}_CMD"])


def check_db_sync():
    import sqlalchemy
    url = option("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sqlalchemy.text(
            "select current_user, current_database(), (select ssl from pg_stat_ssl where pid = pg_backend_pid())"
        )).one()
    return {"url_scheme": url.split(":", 1)[0], "user": row[0], "database": row[1], "ssl": row[2]}


def check_db_async():
    import sqlalchemy
    from sqlalchemy.ext.asyncio import create_async_engine
    url = option("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC")

    async def go():
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            result = await conn.execute(sqlalchemy.text(
                "select current_user, current_database(), (select ssl from pg_stat_ssl where pid = pg_backend_pid())"
            ))
            row = result.one()
        await engine.dispose()
        return row

    row = asyncio.run(go())
    return {"url_scheme": url.split(":", 1)[0], "user": row[0], "database": row[1], "ssl": row[2]}


def check_result_backend():
    from celery import Celery
    url = option("AIRFLOW__CELERY__RESULT_BACKEND")
    app = Celery("cdk-airflow-ecs-check", broker="memory://", backend=url)
    app.backend.store_result("cdk-airflow-ecs-task", {"answer": 42}, "SUCCESS")
    meta = app.backend.get_task_meta("cdk-airflow-ecs-task")
    return {"url_scheme": url.split(":", 1)[0], "status": meta["status"], "result": meta["result"]}


def check_broker():
    from kombu import Connection
    url = option("AIRFLOW__CELERY__BROKER_URL")
    with Connection(url, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
        queue = conn.SimpleQueue("cdk-airflow-ecs-check")
        queue.put({"task": "hello"})
        message = queue.get(timeout=5)
        body = message.payload
        message.ack()
        queue.close()
    return {"url_scheme": url.split(":", 1)[0], "body": body}


def check_fernet():
    from cryptography.fernet import Fernet, MultiFernet
    value = option("AIRFLOW__CORE__FERNET_KEY")
    # Airflow's get_fernet(): MultiFernet over the comma-separated keys.
    fernet = MultiFernet([Fernet(part.encode("utf-8")) for part in value.split(",")])
    token = fernet.encrypt(b"connection password")
    return {"value": value, "roundtrip": fernet.decrypt(token).decode(), "keys": len(value.split(","))}


CHECKS = {
    "db-sync": check_db_sync,
    "db-async": check_db_async,
    "result-backend": check_result_backend,
    "broker": check_broker,
    "fernet": check_fernet,
}

if __name__ == "__main__":
    try:
        print(json.dumps({"ok": True, **CHECKS[sys.argv[1]]()}))
    except Exception as e:  # report, so the test shows what went wrong
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
