#!/usr/bin/env bash
# Writes test/fixtures/airflow-config/<version>.json: the configuration reference of one Airflow
# release, read from the real packages installed from PyPI (apache-airflow-core and every provider
# the official image ships), as they were on the day after the release's upload.
#
#   scripts/airflow-config-reference/generate.sh 3.3.2
#
# Providers are installed without their dependencies: only their configuration descriptions
# (get_provider_info) are read, not their hooks.
set -euo pipefail
version="$1"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the extras of the official image's default build (AIRFLOW_EXTRAS in apache/airflow's Dockerfile)
extras="aiobotocore,amazon,async,celery,cncf-kubernetes,common-io,common-messaging,docker,elasticsearch,fab,ftp,git,google,google-auth,graphviz,grpc,hashicorp,http,ldap,microsoft-azure,mysql,odbc,openlineage,pandas,postgres,redis,sendgrid,sftp,slack,snowflake,ssh,statsd,uv"
case "$version" in 3.1.*|3.2.*) ;; *) extras="$extras,opensearch" ;; esac

"$python" -m venv "$work/uv" >/dev/null
"$work/uv/bin/pip" install -q "$(cat "$root/test/local-ecs/locks/uv.txt")"
uv="$work/uv/bin/uv"
uploaded="$(curl -sf https://pypi.org/pypi/apache-airflow/json | "$python" -c 'import json,sys; print(min(f["upload_time_iso_8601"] for f in json.load(sys.stdin)["releases"][sys.argv[1]]))' "$version")"
cutoff="$("$python" -c 'import datetime,sys; d=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")); print((d+datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$uploaded")"

echo "apache-airflow[$extras]==$version" > "$work/image.in"
"$uv" pip compile -q --python "$python" --exclude-newer "$cutoff" --no-header --no-annotate "$work/image.in" -o "$work/image.txt"
grep -E '^apache-airflow(-core|-task-sdk)?==|^apache-airflow-providers-' "$work/image.txt" > "$work/airflow-packages.txt"

"$uv" venv -q --python "$python" "$work/venv"
# core with its dependencies (to import it), providers without theirs (only their configuration is read)
"$uv" pip install -q --python "$work/venv/bin/python" --exclude-newer "$cutoff" "apache-airflow-core==$version" "apache-airflow-task-sdk==$(sed -n 's/^apache-airflow-task-sdk==//p' "$work/airflow-packages.txt")"
"$uv" pip install -q --python "$work/venv/bin/python" --no-deps -r "$work/airflow-packages.txt"

mkdir -p "$root/test/fixtures/airflow-config"
out="$root/test/fixtures/airflow-config/$version.json"
AIRFLOW_HOME="$work/home" "$work/venv/bin/python" "$here/dump.py" > "$work/reference.json"
"$python" - "$work/reference.json" "$out" "$extras" "$uploaded" "$cutoff" <<'PY'
import json, sys, datetime
ref = json.load(open(sys.argv[1]))
ref = {
  "source": {
    "generated_by": "scripts/airflow-config-reference/generate.sh",
    "generated_on": datetime.date.today().isoformat(),
    "method": "apache-airflow-core and every provider of the official image's default extras, installed from PyPI as of the cutoff; "
              "options from airflow.configuration.retrieve_configuration_description (config.yml and each provider's get_provider_info), "
              "renamed options from AirflowConfigParser.deprecated_options",
    "pypi_upload": sys.argv[4],
    "resolved_as_of": sys.argv[5],
    "image_extras": sys.argv[3].split(","),
    "license": "derived from Apache Airflow's config.yml and providers' provider.yaml, Apache License 2.0, (c) The Apache Software Foundation",
  },
  **ref,
}
json.dump(ref, open(sys.argv[2], "w"), indent=1)
open(sys.argv[2], "a").write("\n")
print(f"wrote {sys.argv[2]}: Airflow {ref['airflow_version']}, {len(ref['options'])} options, {len(ref['packages'])} packages")
PY
