"""Airflow's own metrics to CloudWatch (cdk-airflow-ecs).

A sidecar in the scheduler, dag-processor, triggerer and worker tasks. Airflow sends its StatsD
metrics to 127.0.0.1:PORT (containers of one awsvpc task share the loopback interface); this
program receives them, keeps the ones in METRICS below (Airflow also names metrics after DAGs,
tasks and files: thousands of names, each a paid CloudWatch metric), adds them up per PERIOD
seconds and publishes them with PutMetricData under NAMESPACE with DIMENSIONS.

  counters  the sum per period; a counter seen once is published as 0 in later quiet periods, so
            that an alarm on it sees 0 rather than missing data
  gauges    a statistic set (count, sum, min, max) of the values the period saw
  timers    a statistic set in milliseconds

Runs inside the Airflow image (Python and boto3 are there) as `python3 -c "<this file>"`;
everything it needs comes from the environment, see ENV. Proven in test/runtime/airflow-metrics.test.ts
(real UDP, a CloudWatch stand-in) and in the local ECS runtime with a running Airflow.
"""
import json
import os
import re
import signal
import socket
import sys
import threading
import time

ENV = {
    "port": "CDK_AIRFLOW_STATSD_PORT",
    "period": "CDK_AIRFLOW_METRICS_PERIOD_SECONDS",
    "namespace": "CDK_AIRFLOW_METRICS_NAMESPACE",
    # JSON {name: value}
    "dimensions": "CDK_AIRFLOW_METRICS_DIMENSIONS",
    # the prefix Airflow puts before every name ([metrics] statsd_prefix)
    "prefix": "CDK_AIRFLOW_STATSD_PREFIX",
}

# The metrics published: a pattern on the name after the prefix, and the extra dimension a named
# group becomes. Names with a DAG, task, file or host in them are left out on purpose.
METRICS = [
    # heartbeats: a component that stops heartbeating stops scheduling, parsing or triggering
    (r"scheduler_heartbeat", None),
    (r"dag_processor_heartbeat", None),
    (r"triggerer_heartbeat", None),
    # task outcomes (workers, and the scheduler for tasks it fails itself)
    (r"ti_successes", None),
    (r"ti_failures", None),
    (r"scheduler\.tasks\.killed_externally", None),
    (r"scheduler\.orphaned_tasks\.(cleared|adopted)", None),
    (r"celery\.task_timeout_error", None),
    # the executor's slots (one Celery executor: no executor name in the name)
    (r"executor\.(open_slots|queued_tasks|running_tasks)", None),
    # the scheduler's view of its work
    (r"scheduler\.tasks\.(starving|executable)", None),
    (r"scheduler\.dagruns\.running", None),
    (r"scheduler\.scheduler_loop_duration", None),
    (r"scheduler\.critical_section_busy", None),
    # Airflow pools: one dimension value per pool
    (r"pool\.(open_slots|queued_slots|running_slots|deferred_slots|scheduled_slots|starving_tasks)\.(?P<Pool>[A-Za-z0-9_.-]+)", "Pool"),
    # DAG processing
    (r"dag_processing\.(total_parse_time|import_errors|file_path_queue_size)", None),
    (r"dagbag_size", None),
    # the triggerer
    (r"triggers\.(running|succeeded|failed|blocked_main_thread)", None),
]
_COMPILED = [(re.compile(pattern + r"\Z"), group) for pattern, group in METRICS]

UNITS = {"c": "Count", "g": "None", "ms": "Milliseconds"}


def log(**fields):
    print(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields}), flush=True)


# --- reading StatsD ----------------------------------------------------------------------------

def parse_line(line):
    """One StatsD line, `name:value|type[|@rate][|#tags]`, as (name, value, type, rate), or None
    for what is not a counter, gauge or timer. InfluxDB-style tags (`name,tag=v:...`) are dropped;
    a gauge value with a sign (`+3`, `-1`) is a change, returned as ("name", 3.0, "g+", 1.0)."""
    try:
        head, *fields = line.strip().split("|")
        name, raw = head.rsplit(":", 1)
        kind = fields[0]
    except (ValueError, IndexError):
        return None
    name = name.split(",", 1)[0]
    if kind not in ("c", "g", "ms", "h"):
        return None
    rate = 1.0
    for field in fields[1:]:
        if field.startswith("@"):
            try:
                rate = float(field[1:]) or 1.0
            except ValueError:
                return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if kind == "g" and raw[:1] in "+-":
        kind = "g+"
    return name, value, "ms" if kind == "h" else kind, rate


def select(name, prefix):
    """The CloudWatch name and extra dimensions of an Airflow metric, or None when it is not
    published: (metric name, {dimension: value})."""
    if prefix:
        if not name.startswith(prefix + "."):
            return None
        name = name[len(prefix) + 1:]
    for pattern, group in _COMPILED:
        match = pattern.match(name)
        if match:
            if group:
                value = match.group(group)
                return name[:match.start(group) - 1], {group: value}
            return name, {}
    return None


class Aggregator:
    """Adds up what one period received, per (metric, dimensions)."""

    def __init__(self, prefix):
        self.prefix = prefix
        # re-entrant: the SIGTERM handler drains on the main thread, which may hold it already
        self.lock = threading.RLock()
        self.counters = {}       # key -> sum this period
        self.known_counters = set()
        self.samples = {}        # key -> (unit, [values])
        self.gauges = {}         # key -> last value (for "+n"/"-n" changes)

    def add(self, line):
        parsed = parse_line(line)
        if parsed is None:
            return False
        name, value, kind, rate = parsed
        selected = select(name, self.prefix)
        if selected is None:
            return False
        metric, extra = selected
        key = (metric, tuple(sorted(extra.items())))
        with self.lock:
            if kind == "c":
                self.counters[key] = self.counters.get(key, 0.0) + value / rate
                self.known_counters.add(key)
            else:
                if kind == "g+":
                    value = self.gauges.get(key, 0.0) + value
                if kind in ("g", "g+"):
                    self.gauges[key] = value
                unit = "Milliseconds" if kind == "ms" else "None"
                self.samples.setdefault(key, (unit, []))[1].append(value)
        return True

    def drain(self, dimensions):
        """The period's MetricData (and a fresh period)."""
        with self.lock:
            counters = {key: self.counters.get(key, 0.0) for key in self.known_counters}
            samples = self.samples
            self.counters, self.samples = {}, {}
        base = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
        data = []
        for (metric, extra), total in sorted(counters.items()):
            data.append({"MetricName": metric, "Dimensions": base + [{"Name": k, "Value": v} for k, v in extra],
                         "Value": total, "Unit": "Count"})
        for (metric, extra), (unit, values) in sorted(samples.items()):
            data.append({"MetricName": metric, "Dimensions": base + [{"Name": k, "Value": v} for k, v in extra], "Unit": unit,
                         "StatisticValues": {"SampleCount": float(len(values)), "Sum": float(sum(values)),
                                             "Minimum": float(min(values)), "Maximum": float(max(values))}})
        return data


# --- the loops -----------------------------------------------------------------------------------

def receive(sock, aggregator, stop):
    while not stop.is_set():
        try:
            packet = sock.recv(65535)
        except socket.timeout:
            continue
        except OSError:
            return
        for line in packet.decode("utf-8", "replace").splitlines():
            if line:
                aggregator.add(line)


def put_metrics(cloudwatch, namespace, data):
    # PutMetricData takes at most 1000 values per call
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])


def flush(cloudwatch, namespace, dimensions, aggregator):
    data = aggregator.drain(dimensions)
    if not data:
        return 0
    try:
        put_metrics(cloudwatch, namespace, data)
        log(msg="published", metrics=len(data))
    except Exception as e:  # the next period tries again; these values are lost
        log(msg="publish failed", error=f"{type(e).__name__}: {e}", metrics=len(data))
    return len(data)


def serve(iterations=None):
    import boto3
    port = int(os.environ.get(ENV["port"], "8125"))
    period = float(os.environ.get(ENV["period"], "60"))
    namespace = os.environ[ENV["namespace"]]
    dimensions = json.loads(os.environ.get(ENV["dimensions"], "{}"))
    aggregator = Aggregator(os.environ.get(ENV["prefix"], "airflow"))
    from botocore.config import Config
    # bounded calls: the last flush on SIGTERM must end well within the container's stop timeout
    cloudwatch = boto3.client("cloudwatch", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH"),
                              config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2}))

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(1.0)
    stop = threading.Event()
    receiver = threading.Thread(target=receive, args=(sock, aggregator, stop), daemon=True)
    receiver.start()
    log(msg="listening", port=port, period=period, namespace=namespace, dimensions=dimensions)

    def last_flush(signum, frame):
        # ECS stops the task: publish what this period has so far, then exit at once (no
        # interpreter shutdown to wait on: the receiver thread and botocore's pools hold nothing)
        stop.set()
        log(msg="stopping: publishing the last values")
        try:
            flush(cloudwatch, namespace, dimensions, aggregator)
        finally:
            sys.stdout.flush()
            os._exit(0)

    signal.signal(signal.SIGTERM, last_flush)
    n = 0
    while iterations is None or n < iterations:
        time.sleep(period)
        flush(cloudwatch, namespace, dimensions, aggregator)
        n += 1
    stop.set()


if __name__ == "__main__":
    # until serve() installs its own handler: stop at once (as PID 1, Python would ignore SIGTERM)
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    serve()
