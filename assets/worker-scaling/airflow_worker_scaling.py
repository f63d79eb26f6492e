"""Queue-based scaling for Celery workers on ECS (cdk-airflow-ecs).

Runs inside the Airflow image (Python, SQLAlchemy and boto3 are there), started as
`python3 -c "<this file>" publish` or `... protect`. Two jobs:

publish  (a sidecar of the scheduler task) counts queued and running Celery tasks per queue in the
         metadata database every PERIOD seconds (one query), and for each worker pool -- a
         worker service and the queues it consumes -- works out how many workers it needs,
         desired = ceil((queued + running) / worker_concurrency)        (as the Helm chart's KEDA query)
         holds that number for the pool's scale-in cooldown before letting it fall, and publishes
         QueuedTasks, RunningTasks and DesiredWorkers with the pool's dimensions to CloudWatch. An
         Application Auto Scaling step policy (ExactCapacity) per pool sets its worker service to
         DesiredWorkers, within min/max. In the same round it publishes HeartbeatAge for each
         long-running component (scheduler, dag-processor, triggerer): seconds since the freshest
         heartbeat of its running jobs in Airflow's job table; the "scheduler not heartbeating"
         alarm watches it.

protect  (a sidecar of each worker task) turns on ECS task scale-in protection while this worker
         runs tasks, and off when it is idle, so scale-in only stops idle workers. It also drains
         the worker when a newer deployment of its service becomes primary (a new image or
         settings): the worker stops taking tasks from its queues (Celery cancel_consumer), finishes
         the ones it runs, then drops its protection, so ECS stops it and the rollout finishes
         instead of waiting on a worker that keeps taking new work.

Everything it needs comes from the environment; see ENV below. Proven against a real PostgreSQL
with Airflow's task_instance table in test/runtime/worker-scaling.test.ts.
"""
import itertools
import json
import math
import os
import shlex
import socket
import signal
import subprocess
import sys
import time
import urllib.request

ENV = {
    "db_cmd": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD",
    # JSON list, one object per worker pool: {"dimensions": {name: value}, "queues": [...],
    # "concurrency": n, "minCapacity": n, "maxCapacity": n, "scaleInCooldownSeconds": n}
    "pools": "CDK_AIRFLOW_SCALING_POOLS",
    "period": "CDK_AIRFLOW_SCALING_PERIOD_SECONDS",
    "namespace": "CDK_AIRFLOW_SCALING_NAMESPACE",
    "protection_minutes": "CDK_AIRFLOW_PROTECTION_MINUTES",
    # JSON {"namespace": "...", "dimensions": {name: value}}: where the components' heartbeat
    # ages go (absent: not published)
    "heartbeats": "CDK_AIRFLOW_HEARTBEATS",
    # comma-separated Celery queues this worker consumes (drained when its deployment is replaced)
    "queues": "CDK_AIRFLOW_WORKER_QUEUES",
    "broker_cmd": "AIRFLOW__CELERY__BROKER_URL_CMD",
}

# Airflow's job types of the long-running components, and the component names published
HEARTBEAT_JOBS = {"SchedulerJob": "scheduler", "DagProcessorJob": "dag-processor", "TriggererJob": "triggerer"}


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
    """Queued and running task instances per Celery queue, for the given queues:
    {queue: (queued, running)}, every queue present."""
    from sqlalchemy import bindparam, text
    query = text(
        "SELECT queue, state, count(*) FROM task_instance"
        " WHERE state IN ('queued', 'running') AND queue IN :queues GROUP BY queue, state"
    ).bindparams(bindparam("queues", expanding=True))
    counts = {q: [0, 0] for q in queues}
    for queue, state, n in conn.execute(query, {"queues": list(queues)}).fetchall():
        counts[queue][0 if state == "queued" else 1] += n
    return {q: tuple(c) for q, c in counts.items()}


def heartbeat_ages(conn):
    """Seconds since the freshest heartbeat of each long-running component's running jobs
    ({component: seconds}); a component with no running job is absent."""
    from sqlalchemy import bindparam, text
    query = text(
        "SELECT job_type, EXTRACT(EPOCH FROM (now() - max(latest_heartbeat))) FROM job"
        " WHERE state = 'running' AND job_type IN :types GROUP BY job_type"
    ).bindparams(bindparam("types", expanding=True))
    rows = conn.execute(query, {"types": list(HEARTBEAT_JOBS)}).fetchall()
    return {HEARTBEAT_JOBS[job_type]: max(float(age), 0.0) for job_type, age in rows if age is not None}


class Pool:
    """A worker service and the queues it consumes, as the scheduler's sidecar sees it."""

    def __init__(self, spec):
        self.dimensions = spec["dimensions"]
        self.queues = list(spec["queues"])
        self.concurrency = int(spec["concurrency"])
        self.min_capacity = int(spec.get("minCapacity", 0))
        self.max_capacity = int(spec["maxCapacity"]) if "maxCapacity" in spec else None
        self.hold = ScaleInHold(float(spec.get("scaleInCooldownSeconds", 300)))

    def totals(self, counts):
        """(queued, running) over this pool's queues."""
        return tuple(sum(counts.get(q, (0, 0))[i] for q in self.queues) for i in (0, 1))


def running_on_host(conn, hostname):
    """Task instances running on this worker (Airflow records the worker's IP as the hostname)."""
    from sqlalchemy import text
    query = text("SELECT count(*) FROM task_instance WHERE state = 'running' AND hostname = :hostname")
    return conn.execute(query, {"hostname": hostname}).scalar()


def host_ip_address():
    """What `airflow.utils.net.get_host_ip_address` returns: the IP of the fully qualified host name."""
    return socket.gethostbyname(socket.getfqdn())


# --- the outputs ----------------------------------------------------------------------------

def metric_data(dimensions, values, unit="Count"):
    dims = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
    return [{"MetricName": name, "Dimensions": dims, "Value": float(value), "Unit": unit} for name, value in values.items()]


def put_metrics(cloudwatch, namespace, data):
    # PutMetricData takes at most 1000 values per call; 3 per pool
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])


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


def replaced_deployment(ecs, metadata_uri):
    """Whether this task belongs to a deployment of its service that is no longer the primary one
    (ECS sets a service task's startedBy to the id of the deployment that started it). None for a
    task no service started."""
    with urllib.request.urlopen(f"{metadata_uri}/task", timeout=10) as response:
        meta = json.loads(response.read())
    cluster, arn = meta["Cluster"], meta["TaskARN"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=[arn]).get("tasks", [])
    if not tasks or not tasks[0].get("group", "").startswith("service:"):
        return None
    task = tasks[0]
    services = ecs.describe_services(cluster=cluster, services=[task["group"][len("service:"):]]).get("services", [])
    primary = [d["id"] for s in services for d in s.get("deployments", []) if d.get("status") == "PRIMARY"]
    if not primary or not task.get("startedBy"):
        return None
    return task["startedBy"] != primary[0]


def celery_app():
    """A Celery client on the broker the worker uses (its URL from Airflow's own `_CMD`)."""
    from celery import Celery
    command = os.environ[ENV["broker_cmd"]]
    url = subprocess.run(shlex.split(command), capture_output=True, check=True).stdout.decode()
    return Celery("cdk-airflow-ecs-drain", broker=url)


def stop_consuming(app, queues, hostnames):
    """Tells this task's Celery worker to stop taking tasks from its queues; returns the worker's
    node name. The worker is the one whose node name (`celery@<host>`) has this task's host name."""
    replies = app.control.ping(timeout=5) or []
    nodes = [name for reply in replies for name in reply]
    mine = [n for n in nodes if n.split("@", 1)[-1] in hostnames]
    if not mine:
        raise RuntimeError(f"no Celery worker named after this task's host ({sorted(hostnames)}) among {nodes}")
    for queue in queues:
        app.control.cancel_consumer(queue, destination=mine, reply=True, timeout=5)
    return mine[0]


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
    pools = [Pool(spec) for spec in json.loads(os.environ[ENV["pools"]])]
    queues = sorted({q for pool in pools for q in pool.queues})
    namespace = os.environ[ENV["namespace"]]
    cloudwatch = boto3.client("cloudwatch", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH"))

    heartbeats = json.loads(os.environ[ENV["heartbeats"]]) if os.environ.get(ENV["heartbeats"]) else None

    def publish_heartbeats(engine):
        """The components' heartbeat ages; a failure here must not stop the scaling metrics."""
        try:
            with engine.connect() as conn:
                ages = heartbeat_ages(conn)
            data = [d for component, age in sorted(ages.items()) for d in metric_data(
                {**heartbeats["dimensions"], "Component": component}, {"HeartbeatAge": age}, unit="Seconds")]
            put_metrics(cloudwatch, heartbeats["namespace"], data)
            log(msg="heartbeats", ages=ages)
        except Exception as e:  # the next round tries again
            log(msg="heartbeats failed", error=f"{type(e).__name__}: {e}")

    def publish_round(engine):
        with engine.connect() as conn:
            counts = count_tasks(conn, queues)
        now = clock()
        data = []
        for pool in pools:
            queued, running = pool.totals(counts)
            need = desired_workers(queued, running, pool.concurrency, pool.min_capacity, pool.max_capacity)
            published = pool.hold.update(now, need)
            data += metric_data(pool.dimensions, {"QueuedTasks": queued, "RunningTasks": running, "DesiredWorkers": published})
            log(msg="published", pool=pool.dimensions, queued=queued, running=running, need=need, desired=published)
        put_metrics(cloudwatch, namespace, data)
        if heartbeats:
            publish_heartbeats(engine)

    run_rounds(publish_round, float(os.environ.get(ENV["period"], "30")), iterations, sleep)


def protect(iterations=None, sleep=time.sleep):
    agent_uri = os.environ["ECS_AGENT_URI"]
    minutes = int(os.environ.get(ENV["protection_minutes"], "15"))
    queues = [q for q in os.environ.get(ENV["queues"], "").split(",") if q]
    state = {"protected": None, "refreshed": 0.0, "drained": False}
    ecs = None

    def drain_if_replaced():
        """Once this task's deployment is no longer primary: stop taking tasks (once); a failure is
        logged and the next round tries again."""
        nonlocal ecs
        if state["drained"] or not queues or not os.environ.get("ECS_CONTAINER_METADATA_URI_V4"):
            return
        try:
            import boto3
            ecs = ecs or boto3.client("ecs", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_ECS"))
            if replaced_deployment(ecs, os.environ["ECS_CONTAINER_METADATA_URI_V4"]):
                node = stop_consuming(celery_app(), queues, {socket.gethostname(), socket.getfqdn()})
                state["drained"] = True
                log(msg="draining: a newer deployment is primary; the worker stopped taking tasks", worker=node, queues=queues)
        except Exception as e:
            log(msg="drain check failed", error=f"{type(e).__name__}: {e}")

    def protect_round(engine):
        drain_if_replaced()
        hostname = host_ip_address()
        with engine.connect() as conn:
            busy = running_on_host(conn, hostname) > 0
        # refresh well before the protection expires, or when the state changes
        if busy != state["protected"] or (busy and time.time() - state["refreshed"] > minutes * 60 / 3):
            set_protection(agent_uri, busy, minutes)
            state.update(protected=busy, refreshed=time.time())
            log(msg="task protection", enabled=busy, hostname=hostname)

    run_rounds(protect_round, float(os.environ.get(ENV["period"], "30")), iterations, sleep)


def exit_on_sigterm():
    """Stop at once on SIGTERM. As the container's PID 1, Python would otherwise ignore it (the
    kernel drops signals that PID 1 has no handler for), and every task stop would wait out the
    container's stop timeout before SIGKILL."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


if __name__ == "__main__":
    exit_on_sigterm()
    job = sys.argv[1] if len(sys.argv) > 1 else ""
    if job == "publish":
        publish()
    elif job == "protect":
        protect()
    else:
        sys.exit(f"usage: airflow_worker_scaling.py publish|protect (got {job!r})")
