#!/usr/bin/env bash
# Regenerates the locks that scripts/bindings/run.sh installs from (commit the result):
#   scripts/bindings/lock.sh            all of them (builds dist/bindings first: Java and Go lock against it)
#   scripts/bindings/lock.sh python     examples/basic/python/requirements.txt (exact versions, hashes)
#                                       and scripts/bindings/pacmak-python-build.txt (jsii-pacmak's wheel tools)
#   scripts/bindings/lock.sh java       the dependencyManagement block of examples/basic/java/pom.xml
#   scripts/bindings/lock.sh go         examples/basic/go/go.mod and go.sum
# To move to another aws-cdk-lib, constructs or jsii version: edit examples/basic/python/requirements.in,
# the direct dependencies in examples/basic/java/pom.xml and the require lines in examples/basic/go/go.mod,
# then run this. cdk-ecr-deployment's version is the one package-lock.json installs: set it in
# requirements.in and run this (the Java and Go locks take it from the jar and module run.sh builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
python=/usr/bin/python3
cache="${CDK_AIRFLOW_ECS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk-airflow-ecs}/bindings"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lock_python() {
  local uv_version
  uv_version="$(sed -n 's/^uv==//p' test/local-ecs/locks/uv.txt)"
  "$python" -m venv "$work/uv" >/dev/null
  "$work/uv/bin/pip" install -q "uv==${uv_version}"
  local uv="$work/uv/bin/uv" pyver
  pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  (cd examples/basic/python && "$uv" pip compile -q --python-version "$pyver" --generate-hashes --no-header \
    requirements.in -o requirements.txt)
  sed -i "1i # Python ${pyver}; by scripts/bindings/lock.sh python from requirements.in" examples/basic/python/requirements.txt
  echo "wrote examples/basic/python/requirements.txt ($(grep -c '==' examples/basic/python/requirements.txt) packages)"
  # jsii-pacmak builds the wheel in a venv of its own with the tools its requirements-dev.txt names
  # (ranges); run.sh pins them with PIP_CONSTRAINT, which pip also honours in `python -m build`'s
  # isolated environment.
  sed 's/#.*//' node_modules/jsii-pacmak/lib/targets/python/requirements-dev.txt | grep . > "$work/pacmak.in"
  "$uv" pip compile -q --python-version "$pyver" --no-header --no-annotate "$work/pacmak.in" -o "$work/pacmak.txt"
  { echo "# jsii-pacmak $(node -p 'require("jsii-pacmak/package.json").version')'s Python build tools, Python ${pyver}; by scripts/bindings/lock.sh python"
    cat "$work/pacmak.txt"; } > scripts/bindings/pacmak-python-build.txt
  echo "wrote scripts/bindings/pacmak-python-build.txt ($(grep -c '==' scripts/bindings/pacmak-python-build.txt) packages)"
}

lock_java() {
  local pom=examples/basic/java/pom.xml
  [ -d dist/bindings/java ] || { echo "dist/bindings/java is missing: run scripts/bindings/run.sh --build-only first" >&2; exit 1; }
  # Resolve the direct dependencies without the old lock, then write every resolved artifact back as an exact version.
  : > "$work/empty.xml"
  replace_lock "$pom" "$work/empty.xml" "$work/pom.xml"
  mvn -B -q -f "$work/pom.xml" -Dmaven.repo.local="$cache/m2" -Dbindings.repository="file://$root/dist/bindings/java" \
    dependency:list -DincludeScope=runtime -DoutputFile="$work/deps.txt"
  grep -E '^ +[^ ]+:[^ ]+:jar:' "$work/deps.txt" | sed 's/ -- .*//; s/^ *//' | sort -u \
    | grep -v '^io.github.cdk-airflow-ecs:' \
    | awk -F: '{ printf "      <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n", $1, $2, $4 }' \
    > "$work/lock.xml"
  replace_lock "$pom" "$work/lock.xml" "$pom"
  echo "wrote the lock block of $pom ($(grep -c . "$work/lock.xml") artifacts)"
}

# replace_lock POM LINES OUT: POM with the lines between its BEGIN LOCK and END LOCK markers replaced by the file LINES
replace_lock() {
  "$python" - "$1" "$2" "$3" <<'EOF'
import re, sys
pom, lines, out = sys.argv[1:]
text = open(pom).read()
block = open(lines).read().rstrip("\n")
new, n = re.subn(r"(<!-- BEGIN LOCK[^\n]*-->\n).*?([ ]*<!-- END LOCK)", lambda m: m.group(1) + (block + "\n" if block else "") + m.group(2), text, flags=re.S)
if n != 1:
    sys.exit(f"{pom}: expected one BEGIN LOCK ... END LOCK block, found {n}")
open(out, "w").write(new)
EOF
}

lock_go() {
  [ -d dist/bindings/go/cdkairflowecs ] || { echo "dist/bindings/go is missing: run scripts/bindings/run.sh first" >&2; exit 1; }
  (cd examples/basic/go && GOMODCACHE="$cache/gomod" GOFLAGS=-modcacherw go mod tidy)
  echo "wrote examples/basic/go/go.mod and go.sum ($(wc -l < examples/basic/go/go.sum) lines)"
}

case "${1:-all}" in
  python) lock_python ;;
  java) lock_java ;;
  go) lock_go ;;
  all)
    lock_python
    scripts/bindings/run.sh --build-only
    lock_java
    lock_go
    ;;
  *)
    echo "usage: $0 [python | java | go]" >&2
    exit 2
    ;;
esac
