#!/usr/bin/env bash
# Regenerates the locks the local ECS runtime installs from (commit the result):
#   test/local-ecs/locks/lock.sh airflow 3.3.2     Airflow with the providers our task definitions rely on
#   test/local-ecs/locks/lock.sh tools             moto (the AWS stand-in) and boto3
# Airflow's locks resolve as of the day after the release's upload to PyPI, so that providers are the
# ones current when the release (and its official image) was built.
set -euo pipefail
cd "$(dirname "$0")"
python=/usr/bin/python3
uv_version="$(sed -n 's/^uv==//p' uv.txt)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/uv" >/dev/null
"$work/uv/bin/pip" install -q "uv==${uv_version}"
uv="$work/uv/bin/uv"
case "${1:-}" in
  airflow)
    version="$2"
    uploaded="$(curl -sf "https://pypi.org/pypi/apache-airflow/json" | "$python" -c 'import json,sys; print(min(f["upload_time_iso_8601"] for f in json.load(sys.stdin)["releases"][sys.argv[1]]))' "$version")"
    cutoff="$("$python" -c 'import datetime,sys; d=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")); print((d+datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$uploaded")"
    printf 'apache-airflow[celery,postgres,amazon,fab,statsd]==%s\ndumb-init\n' "$version" > "$work/requirements.in"
    "$uv" pip compile -q --python "$python" --exclude-newer "$cutoff" --no-header --no-annotate "$work/requirements.in" -o "$work/lock.txt"
    { echo "# apache-airflow ${version} (uploaded to PyPI ${uploaded}) for $("$python" -c 'import platform; print("CPython", platform.python_version())'), resolved as of ${cutoff}"
      echo "# by test/local-ecs/locks/lock.sh airflow ${version}; requirements: $(tr '\n' ' ' < "$work/requirements.in")"
      cat "$work/lock.txt"; } > "airflow-${version}.txt"
    echo "wrote airflow-${version}.txt ($(grep -c '==' "airflow-${version}.txt") packages)"
    ;;
  tools)
    printf 'moto[server]==5.2.5\nboto3\n' > "$work/requirements.in"
    "$uv" pip compile -q --python "$python" --exclude-newer 2026-11-30T00:00:00Z --no-header --no-annotate "$work/requirements.in" -o "$work/lock.txt"
    { echo "# moto (server mode) and boto3 for the local ECS runtime; by test/local-ecs/locks/lock.sh tools"; cat "$work/lock.txt"; } > tools.txt
    echo "wrote tools.txt ($(grep -c '==' tools.txt) packages)"
    ;;
  *)
    echo "usage: $0 airflow <version> | tools" >&2
    exit 2
    ;;
esac
