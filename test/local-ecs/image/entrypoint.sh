#!/bin/bash
# The local ECS runtime's stand-in for the official apache/airflow image's /entrypoint, written
# from its documented behaviour (https://airflow.apache.org/docs/docker-stack/entrypoint.html) and
# reproducing what our task definitions rely on: the user and group checks, the database check
# before a component starts, the Celery broker check, and the dispatch of the command to
# `airflow`, `bash` or `python`. README.md lists what it leaves out.
set -euo pipefail

command_name="${1:-}"

# The image runs as uid 50000; any uid works as long as the group is 0 (root).
if [[ "$(id -g)" != "0" ]]; then
  if [[ "$(id -u)" == "50000" ]]; then
    echo >&2 "WARNING: the airflow user should run with group 0 (root); you run with group $(id -g)."
  else
    echo >&2 "ERROR: the container must run with group 0 (root) when its user is not 50000; it runs as $(id -u):$(id -g)."
    exit 1
  fi
fi
umask 0002

: "${CONNECTION_CHECK_MAX_COUNT:=20}"
: "${CONNECTION_CHECK_SLEEP_TIME:=3}"

# An arbitrary uid gets a passwd entry, so that tools that look the user up work.
if ! whoami >/dev/null 2>&1; then
  if [[ -w /etc/passwd ]]; then
    echo "${USER_NAME:-default}:x:$(id -u):0:${USER_NAME:-default} user:${AIRFLOW_USER_HOME_DIR}:/sbin/nologin" >> /etc/passwd
  fi
  export HOME="${AIRFLOW_USER_HOME_DIR}"
fi

retry() {
  local what="$1"; shift
  local attempt=1
  local output
  while true; do
    if output="$("$@" 2>&1)"; then
      return 0
    fi
    if (( attempt >= CONNECTION_CHECK_MAX_COUNT )); then
      echo >&2
      echo >&2 "ERROR! Maximum number of retries (${CONNECTION_CHECK_MAX_COUNT}) reached while waiting for ${what}."
      echo >&2 "Last check result:"
      echo >&2 "${output}"
      exit 1
    fi
    echo >&2 -n "."
    attempt=$((attempt + 1))
    sleep "${CONNECTION_CHECK_SLEEP_TIME}"
  done
}

# Which commands wait for the database: every command up to Airflow 3.2, only the long-running
# components (also when started through `bash -c`) from 3.3 on.
needs_database() {
  local minor="${AIRFLOW_VERSION%.*}"
  if [[ "${minor}" == "3.1" || "${minor}" == "3.2" ]]; then
    return 0
  fi
  local args="$*"
  [[ "${args}" =~ (^|[[:space:]\;\&\|])(airflow[[:space:]]+)?(scheduler|dag-processor|triggerer|api-server)([[:space:]]|$) ]]
}

if (( CONNECTION_CHECK_MAX_COUNT > 0 )) && needs_database "$@"; then
  retry "the metadata database" airflow db check
fi

if [[ -n "${_PIP_ADDITIONAL_REQUIREMENTS:-}" ]]; then
  echo >&2 "ERROR: _PIP_ADDITIONAL_REQUIREMENTS is not supported by the local ECS runtime (it would install into the shared Airflow environment)."
  exit 1
fi

case "${command_name}" in
  bash) shift; exec /bin/bash "$@" ;;
  python) shift; exec python "$@" ;;
  airflow) shift; command_name="${1:-}" ;;
esac

# The scheduler and Celery workers wait for the broker to accept TCP connections.
if [[ "${command_name}" == "scheduler" || "${command_name}" == "celery" ]] && (( CONNECTION_CHECK_MAX_COUNT > 0 )); then
  executor="$(airflow config get-value core executor 2>/dev/null || true)"
  if [[ "${executor}" == "CeleryExecutor" ]]; then
    broker_url="$(airflow config get-value celery broker_url)"
    retry "the Celery broker" python -c '
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
ports = {"postgres": 5432, "mysql": 3306, "mssql": 1433, "redis": 6379, "amqp": 5672}
port = u.port or next((p for s, p in ports.items() if u.scheme.startswith(s)), 0)
socket.create_connection((socket.gethostbyname(u.hostname or "localhost"), port), timeout=5).close()
' "${broker_url}"
  fi
fi

exec airflow "$@"
