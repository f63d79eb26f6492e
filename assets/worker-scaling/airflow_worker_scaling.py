"""Queue-based scaling for Celery workers on ECS (cdk-airflow-ecs).

Runs inside the Airflow image (Python, SQLAlchemy and boto3 are there), started as
`python3 -c "<this file>" publish` or `... protect`. Two jobs:

publish  (a sidecar of the scheduler task) counts queued and running Celery tasks in the metadata
         database every PERIOD seconds, works out how many workers they need,
         desired = ceil((queued + running) / worker_concurrency)        (as the Helm chart's KEDA query)
         holds that number for SCALE_IN_COOLDOWN seconds before letting it fall, and publishes
         QueuedTasks, RunningTasks and DesiredWorkers to CloudWatch. An Application Auto Scaling
         step policy (ExactCapacity) sets the worker service to DesiredWorkers, within min/max.

protect  (a sidecar of each worker task) turns on ECS task scale-in protection while this worker
         runs tasks, and off when it is idle, so scale-in only stops idle workers.

Everything it needs comes from the environment; see ENV below. Proven against a real PostgreSQL
with Airflow's task_instance table in test/runtime/worker-scaling.test.ts.
"""
import itertools
import json
import math
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

ENV = {
    "db_cmd": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD",
    "concurrency": "AIRFLOW__CELERY__WORKER_CONCURRENCY",
    "queues": "CDK_AIRFLOW_SCALING_QUEUES",  # comma-separated Celery queues the workers consume
    "period": "CDK_AIRFLOW_SCALING_PERIOD_SECONDS",
    "cooldown": "CDK_AIRFLOW_SCALING_SCALE_IN_COOLDOWN_SECONDS",
    "namespace": "CDK_AIRFLOW_SCALING_NAMESPACE",
    "dimensions": "CDK_AIRFLOW_SCALING_DIMENSIONS",  # JSON object: name -> value
    "protection_minutes": "CDK_AIRFLOW_PROTECTION_MINUTES",
    "min_capacity": "CDK_AIRFLOW_SCALING_MIN_CAPACITY",
    "max_capacity": "CDK_AIRFLOW_SCALING_MAX_CAPACITY",
}


def log(**fields):
    print(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields}), flush=True)


# --- the math -------------------------------------------------------------------------------

def desired_workers(queued, running, concurrency, min_capacity=0, max_capacity=None):
    """Workers needed for the tasks in the queue and on workers, ceil((queued + running) / concurrency),
    bounded by the worker service's min and max capacity."""
    if concurrency < 1:
        raise ValueError(f"worker concurrency must be >= 1, got {concurrency}")
    need = math.ceil((max(queued, 0) + max(running, 0)) / concurrency)
    if max_capacity is not None:
        need = min(need, max_capacity)
    return max(need, min_capacity)


class ScaleInHold:
    """Scale out at once; scale in only after the need has been lower for `cooldown` seconds.

    Publishes the highest need seen within the last `cooldown` seconds.
    """

    def __init__(self, cooldown):
        self.cooldown = cooldown
        self.samples = []  # (time, desired)

    def update(self, now, desired):
        self.samples.append((now, desired))
        self.samples = [(t, d) for (t, d) in self.samples if t > now - self.cooldown]
        return max(d for (_, d) in self.samples)


# --- the inputs -----------------------------------------------------------------------------

def database_url():
    """The metadata DB URL, from the same `_CMD` Airflow uses (run the way Airflow runs it)."""
    command = os.environ[ENV["db_cmd"]]
    out = subprocess.run(shlex.split(command), capture_output=True, check=True)
    return out.stdout.decode()


def count_tasks(conn, queues):
    """Queued and running task instances on the given Celery queues."""
    from sqlalchemy import bindparam, text
    query = text(
        "SELECT state, count(*) FROM task_instance"
        " WHERE state IN ('queued', 'running') AND queue IN :queues GROUP BY state"
    ).bindparams(bindparam("queues", expanding=True))
    counts = dict(conn.execute(query, {"queues": list(queues)}).fetchall())
    return counts.get("queued", 0), counts.get("running", 0)


def running_on_host(conn, hostname):
    """Task instances running on this worker (Airflow records the worker's IP as the hostname)."""
    from sqlalchemy import text
    query = text("SELECT count(*) FROM task_instance WHERE state = 'running' AND hostname = :hostname")
    return conn.execute(query, {"hostname": hostname}).scalar()


def host_ip_address():
    """What `airflow.utils.net.get_host_ip_address` returns: the IP of the fully qualified host name."""
    return socket.gethostbyname(socket.getfqdn())


# --- the outputs ----------------------------------------------------------------------------

def put_metrics(cloudwatch, namespace, dimensions, values):
    dims = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": name, "Dimensions": dims, "Value": float(value), "Unit": "Count"} for name, value in values.items()],
    )


def set_protection(agent_uri, enabled, minutes):
    """ECS task scale-in protection through the ECS agent endpoint of this task."""
    body = {"ProtectionEnabled": enabled}
    if enabled:
        body["ExpiresInMinutes"] = minutes
    request = urllib.request.Request(
        f"{agent_uri}/task-protection/v1/state", data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read() or b"{}")
    if answer.get("failure") or answer.get("error"):
        raise RuntimeError(f"ECS agent refused task protection: {answer}")
    return answer


# --- the loops ------------------------------------------------------------------------------

def run_rounds(job, period, iterations, sleep):
    """Runs `job(engine)` every `period` seconds (forever, or `iterations` times), with one
    database connection opened on first use; a failed round is logged and the next one tries again."""
    from sqlalchemy import create_engine
    engine = None
    for n in itertools.count(1) if iterations is None else range(1, iterations + 1):
        try:
            if engine is None:
                engine = create_engine(database_url(), pool_pre_ping=True, pool_size=1, max_overflow=0)
            job(engine)
        except Exception as e:  # keep going: the next round may work
            log(msg=f"{job.__name__} failed", error=f"{type(e).__name__}: {e}")
        if iterations is None or n < iterations:
            sleep(period)


def publish(iterations=None, clock=time.time, sleep=time.sleep):
    import boto3
    concurrency = int(os.environ.get(ENV["concurrency"], "16"))
    min_capacity = int(os.environ.get(ENV["min_capacity"], "0"))
    max_capacity = int(os.environ[ENV["max_capacity"]]) if ENV["max_capacity"] in os.environ else None
    queues = [q.strip() for q in os.environ.get(ENV["queues"], "default").split(",") if q.strip()]
    hold = ScaleInHold(float(os.environ.get(ENV["cooldown"], "300")))
    namespace = os.environ[ENV["namespace"]]
    dimensions = json.loads(os.environ[ENV["dimensions"]])
    cloudwatch = boto3.client("cloudwatch", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH"))

    def publish_round(engine):
        with engine.connect() as conn:
            queued, running = count_tasks(conn, queues)
        need = desired_workers(queued, running, concurrency, min_capacity, max_capacity)
        published = hold.update(clock(), need)
        put_metrics(cloudwatch, namespace, dimensions, {"QueuedTasks": queued, "RunningTasks": running, "DesiredWorkers": published})
        log(msg="published", queued=queued, running=running, need=need, desired=published)

    run_rounds(publish_round, float(os.environ.get(ENV["period"], "30")), iterations, sleep)


def protect(iterations=None, sleep=time.sleep):
    agent_uri = os.environ["ECS_AGENT_URI"]
    minutes = int(os.environ.get(ENV["protection_minutes"], "15"))
    state = {"protected": None, "refreshed": 0.0}

    def protect_round(engine):
        hostname = host_ip_address()
        with engine.connect() as conn:
            busy = running_on_host(conn, hostname) > 0
        # refresh well before the protection expires, or when the state changes
        if busy != state["protected"] or (busy and time.time() - state["refreshed"] > minutes * 60 / 3):
            set_protection(agent_uri, busy, minutes)
            state.update(protected=busy, refreshed=time.time())
            log(msg="task protection", enabled=busy, hostname=hostname)

    run_rounds(protect_round, float(os.environ.get(ENV["period"], "30")), iterations, sleep)


if __name__ == "__main__":
    job = sys.argv[1] if len(sys.argv) > 1 else ""
    if job == "publish":
        publish()
    elif job == "protect":
        protect()
    else:
        sys.exit(f"usage: airflow_worker_scaling.py publish|protect (got {job!r})")
