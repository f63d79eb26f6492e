"""Loads the worker-scaling program exactly as synthesized (the source given to `python3 -c`)
and runs parts of it for the tests. Usage: worker_scaling_harness.py SOURCE_FILE JOB [ARGS...]"""
import json
import sys
import types

source_file, job, *args = sys.argv[1:]
module = types.ModuleType("airflow_worker_scaling")
exec(compile(open(source_file).read(), source_file, "exec"), module.__dict__)

if job == "desired":
    # args: JSON list of [queued, running, concurrency, min, max]
    print(json.dumps([module.desired_workers(*row) for row in json.loads(args[0])]))
elif job == "hold":
    # args: cooldown, JSON list of [time, desired]
    hold = module.ScaleInHold(float(args[0]))
    print(json.dumps([hold.update(t, d) for t, d in json.loads(args[1])]))
elif job == "publish":
    # two rounds, 30 s apart on a fake clock, no real sleeping
    now = [1000.0]
    module.publish(iterations=int(args[0]), clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
elif job == "protect":
    module.protect(iterations=int(args[0]), sleep=lambda s: None)
elif job == "replaced":
    # args: the ECS endpoint; the metadata URI is in the environment
    import os
    import boto3
    ecs = boto3.client("ecs", endpoint_url=args[0], region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    print(json.dumps(module.replaced_deployment(ecs, os.environ["ECS_CONTAINER_METADATA_URI_V4"])))
elif job == "host-ip":
    print(module.host_ip_address())
else:
    sys.exit(f"unknown job {job}")
