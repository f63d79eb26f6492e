"""Simulates queue-based worker scaling (cdk-airflow-ecs WorkerAutoscaling) on a bursty day of
task arrivals, with the same math the containers run (assets/worker-scaling/airflow_worker_scaling.py),
and compares worker-hours with a fixed fleet of maxCapacity workers.

    python3 scripts/simulate_worker_scaling.py        (npm run simulate:scaling)

Model (assumptions are marked):
- The queue-metrics sidecar publishes every 30 s: ceil((queued + running) / concurrency), held for the
  scale-in cooldown. The alarm re-applies it every 60 s (ExactCapacity), clamped to min/max, seeing
  values that are at least 60 s old (ASSUMPTION: one-minute metric period plus alarm evaluation).
- A new worker runs tasks 150 s after it is launched (ASSUMPTION: Fargate start, image pull of the
  ~1.3 GB Airflow image, wait-for-migrations, Celery start).
- Scale-in stops idle workers only (task scale-in protection keeps busy ones).
- The scheduler queues at most `parallelism` = maxCapacity x concurrency tasks (the library sets it);
  the rest wait as `scheduled`, which the scaling signal does not count (as in the Helm chart).
- Fargate bills each worker per second from launch to stop, with a one-minute minimum.
"""
import heapq
import importlib.util
import math
import os
import random
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("scaling", os.path.join(HERE, "..", "assets", "worker-scaling", "airflow_worker_scaling.py"))
scaling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scaling)

CONCURRENCY = 8
MIN_CAPACITY, MAX_CAPACITY = 0, 10
COOLDOWN = 300
PUBLISH_EVERY, APPLY_EVERY, METRIC_DELAY, STARTUP = 30, 60, 60, 150
TICK = 5
HORIZON = 12 * 3600
# ASSUMPTION: us-east-1 Fargate Linux/ARM list prices (per vCPU-hour, per GB-hour) and a 70% Spot discount
VCPU_HOUR, GB_HOUR, SPOT_DISCOUNT, SPOT_SHARE = 0.03238, 0.00356, 0.70, 0.75
WORKER_HOUR = 1 * VCPU_HOUR + 3 * GB_HOUR  # 1 vCPU, 3 GiB


def trace(seed=7):
    """(arrival second, duration seconds) of every task over 12 hours: a bursty day."""
    rng = random.Random(seed)
    tasks = []
    for t in range(0, 3600, 600):                      # 00:00-01:00 a task every 10 minutes
        tasks.append((t, rng.uniform(60, 240)))
    for _ in range(160):                                # 01:00 nightly fan-out of 160 tasks
        tasks.append((3600, rng.uniform(240, 720)))
    for t in range(3 * 3600, int(3.5 * 3600), 15):     # 03:00-03:30 a stream, 4 tasks a minute
        tasks.append((t, rng.uniform(120, 360)))
    for _ in range(400):                                # 06:00 a backfill of 400 tasks
        tasks.append((6 * 3600, rng.uniform(300, 900)))
    for t in range(9 * 3600, HORIZON, 900):             # 09:00-12:00 a task every 15 minutes
        tasks.append((t, rng.uniform(60, 180)))
    return sorted(tasks)


def simulate(tasks, autoscale=True):
    arrivals = list(tasks)
    scheduled = []               # waiting for a free executor slot (parallelism)
    queue = []                   # FIFO of (arrival, duration): queued in Celery
    workers = []                 # dicts: launched, ready_at, running: list of end times
    if not autoscale:
        workers = [{"launched": 0, "ready_at": 0, "running": []} for _ in range(MAX_CAPACITY)]
    hold = scaling.ScaleInHold(COOLDOWN)
    published = []               # (time, value) as CloudWatch has them
    worker_seconds = 0.0
    waits = []
    quiet_waits = []             # tasks that arrived while the day was quiet (cold starts)
    in_queue = []                # time in Celery's queue: must stay under task_queued_timeout
    timeline = []
    first_queued = first_launch = None
    for now in range(0, HORIZON + 1, TICK):
        while arrivals and arrivals[0][0] <= now:
            scheduled.append(arrivals.pop(0))
        for w in workers:
            w["running"] = [end for end in w["running"] if end > now]
        in_flight = len(queue) + sum(len(w["running"]) for w in workers)
        while scheduled and in_flight < MAX_CAPACITY * CONCURRENCY:
            arrival, duration = scheduled.pop(0)
            queue.append((arrival, duration, now))
            in_flight += 1
            if first_queued is None:
                first_queued = now
        for w in workers:
            while queue and w["ready_at"] <= now and len(w["running"]) < CONCURRENCY:
                arrival, duration, queued_at = queue.pop(0)
                waits.append(now - arrival)
                in_queue.append(now - queued_at)
                if arrival < 3600 or arrival >= 9 * 3600:
                    quiet_waits.append(now - arrival)
                w["running"].append(now + duration)
        running = sum(len(w["running"]) for w in workers)
        if autoscale and now % PUBLISH_EVERY == 0:
            published.append((now, hold.update(now, scaling.desired_workers(len(queue), running, CONCURRENCY, MIN_CAPACITY, MAX_CAPACITY))))
        visible = [v for (t, v) in published if t <= now - METRIC_DELAY]
        if autoscale and now % APPLY_EVERY == 0 and visible:
            desired = min(MAX_CAPACITY, max(MIN_CAPACITY, visible[-1]))
            while len(workers) < desired:
                workers.append({"launched": now, "ready_at": now + STARTUP, "running": []})
                if first_launch is None:
                    first_launch = now
            idle = [w for w in workers if not w["running"]]
            while len(workers) > desired and idle:
                w = idle.pop()
                worker_seconds += max(60, now - w["launched"])
                workers.remove(w)
        if now % 1800 == 120:  # two minutes past each half hour
            timeline.append((now, len(scheduled), len(queue), running, len(workers)))
    for w in workers:
        worker_seconds += max(60, HORIZON - w["launched"])
    return {
        "worker_hours": worker_seconds / 3600,
        "waits": waits,
        "quiet_waits": quiet_waits,
        "max_in_queue": max(in_queue),
        "timeline": timeline,
        "first_reaction": None if first_launch is None else first_launch - first_queued,
        "done": len(waits),
    }


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(p / 100 * len(values))) - 1)]


def main():
    tasks = trace()
    auto = simulate(tasks, autoscale=True)
    fixed = simulate(tasks, autoscale=False)
    print(f"Bursty 12-hour trace: {len(tasks)} tasks; workers run {CONCURRENCY} tasks each; autoscaling {MIN_CAPACITY}-{MAX_CAPACITY} workers, "
          f"scale-in cooldown {COOLDOWN} s, worker start {STARTUP} s (assumed)")
    print()
    print("time   scheduled queued running | workers (autoscaled) | workers (fixed)")
    for (t, s, q, r, n), (_, fs, fq, fr, fn) in zip(auto["timeline"], fixed["timeline"]):
        bar = "#" * n
        print(f"{t // 3600:02d}:{t % 3600 // 60:02d}  {s:9d} {q:6d} {r:7d} | {n:2d} {bar:<18}| {fn:2d}")
    print()
    spot_cost = lambda h: h * WORKER_HOUR * (1 - SPOT_SHARE * SPOT_DISCOUNT)
    for name, r in (("autoscaled", auto), ("fixed fleet of %d" % MAX_CAPACITY, fixed)):
        print(f"{name:>18}: {r['worker_hours']:6.1f} worker-hours, "
              f"wait to start p50 {statistics.median(r['waits']):5.0f} s, p95 {pct(r['waits'], 95):5.0f} s, max {max(r['waits']):5.0f} s, "
              f"in quiet hours p50 {statistics.median(r['quiet_waits']):4.0f} s; longest time queued in Celery {r['max_in_queue']:4.0f} s")
    saved = 1 - auto["worker_hours"] / fixed["worker_hours"]
    print(f"worker-hours saved by autoscaling: {saved:.0%}")
    print(f"first worker launched {auto['first_reaction']} s after the first task was queued (from zero workers)")
    print(f"worker cost for the 12 hours (1 vCPU / 3 GiB ARM64, {SPOT_SHARE:.0%} on Spot at -{SPOT_DISCOUNT:.0%}, assumed list prices): "
          f"autoscaled ${spot_cost(auto['worker_hours']):.2f}, fixed fleet on-demand ${fixed['worker_hours'] * WORKER_HOUR:.2f}")


if __name__ == "__main__":
    main()
