#!/usr/bin/env bash
# `npm run bindings`: builds the library's Python wheel and Java jar with jsii-pacmak (one
# invocation) and its Go module (jsii-pacmak's Go sources, then `go mod tidy` and `go build`),
# synthesizes examples/basic in TypeScript, Python, Java and Go with the CDK CLI, and checks that
# every language's templates have the same resources as TypeScript's (scripts/bindings/compare.ts).
# .NET is generated and checked code-only by `npx projen bindings:check` (no .NET SDK here).
#
# Everything is installed from the committed locks (scripts/bindings/lock.sh regenerates them):
# examples/basic/python/requirements.txt (hashes), examples/basic/java/pom.xml (exact versions),
# examples/basic/go/go.sum, scripts/bindings/pacmak-python-build.txt. Caches live outside the
# repository, in $CDK_AIRFLOW_ECS_CACHE/bindings (default ~/.cache/cdk-airflow-ecs/bindings): the Python
# venv is keyed by the hash of its lock; pip's, Maven's and Go's caches are content-addressed
# (pip --require-hashes and go.sum check the locked hashes; Maven checks Central's checksums, -C).
# cdk-ecr-deployment's Java jar and Go module, which our machines' registries do not serve, are built
# from its npm package once per version, into $CDK_AIRFLOW_ECS_CACHE/bindings/cdk-ecr-deployment-<version>.
#
#   scripts/bindings/run.sh               build, synthesize, compare (what CI runs)
#   scripts/bindings/run.sh --build-only  build dist/bindings only (scripts/bindings/lock.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
cache="${CDK_AIRFLOW_ECS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk-airflow-ecs}/bindings"
out="$root/dist/bindings"
work="$(mktemp -d)"
# On a failure, stop the jobs still running in the background too.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
start=$(date +%s)
log() { echo "[bindings $(( $(date +%s) - start ))s] $*"; }
# fail WHAT COMMAND [LOG]: say what failed and the exact command that reproduces it; never skip
fail() {
  [ -n "${3:-}" ] && [ -f "$3" ] && tail -n 60 "$3" >&2
  echo "[bindings] FAILED: $1" >&2
  echo "[bindings] to reproduce, run from $root:" >&2
  echo "  $2" >&2
  exit 1
}

for tool in python3 java mvn go node; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (the polyglot machines have Python 3.11, Java 17 + Maven, Go 1.26, Node 20)" "command -v $tool"
done
python3 -c 'import venv, ensurepip' 2>/dev/null || fail "python3 cannot create virtual environments" "apt-get install -y python3-venv"
mkdir -p "$cache"
build_only=false
[ "${1:-}" = "--build-only" ] && build_only=true

# Jobs run in the background, each logging to $work/<name>.log; `await NAME WHAT COMMAND` waits for
# one and fails with its log and the command that reproduces it.
declare -A job_pid
job() { local name="$1"; shift; ( "$@" ) > "$work/$name.log" 2>&1 & job_pid[$name]=$!; }
await() { wait "${job_pid[$1]}" || fail "$2" "$3" "$work/$1.log"; }

# The jsii kernel unpacks each library's tarball once into this cache, and every synth reuses it.
export JSII_RUNTIME_PACKAGE_CACHE_ROOT="$cache/jsii-packages"
cdk="$root/node_modules/.bin/cdk"
rm -rf "$out"
mkdir -p "$out/cdk.out"
# synth LANGUAGE DIR APP: `cdk synth` of examples/basic in LANGUAGE, into $out/cdk.out/LANGUAGE
synth() {
  local t0=$SECONDS
  cd "$2" && "$cdk" synth --quiet --no-notices --output "$out/cdk.out/$1" --app "$3" || return 1
  echo "synthesized in $(( SECONDS - t0 )) s"
}
ts_app="npx ts-node --project ../../tsconfig.dev.json --prefer-ts-exts app.ts"

# The versions jsii-pacmak's Maven build compiles against: its pom has ranges ([2.257.0,3.0.0) ...)
# that the versions plugin would resolve to the newest on Maven Central; every version but the
# locked ones (the app's pom) is ignored, so the jar is built against what the app runs.
java_pin() {
  python3 -c 'import re, sys
pom = open(sys.argv[1]).read()
for dep in re.findall(r"<dependency>(.*?)</dependency>", pom, re.S):
    tag = lambda name: (re.findall(rf"<{name}>([^<]*)</{name}>", dep) or [""])[0]
    if (tag("groupId"), tag("artifactId")) == (sys.argv[2], sys.argv[3]) and tag("version"):
        print(tag("version")); break' examples/basic/java/pom.xml "$1" "$2"
}
java_versions=""
for ga in software.amazon.awscdk:aws-cdk-lib software.constructs:constructs software.amazon.jsii:jsii-runtime \
  org.jetbrains:annotations javax.annotation:javax.annotation-api; do
  v="$(java_pin "${ga%%:*}" "${ga##*:}")"
  if [ -z "$v" ]; then
    # scripts/bindings/lock.sh builds before the first Java lock exists: then the newest versions are used
    $build_only || fail "examples/basic/java/pom.xml has no locked version of $ga" "scripts/bindings/lock.sh"
    java_versions=""
    break
  fi
  java_versions="${java_versions:+$java_versions|}${v//./\\.}"
done
java_define=()
[ -n "$java_versions" ] && java_define=("--mvn-define=maven.version.ignore=^(?!($java_versions)\$).*")

# cdk-ecr-deployment, a jsii library and a peer dependency of ours: its Python package comes from PyPI
# (the Python lock), but the Maven Central mirror and the Go module proxy our machines reach do not
# serve it (404, 403), so its Java jar and Go module are built here from its npm package (which ships its
# .jsii), once per version, into $cache/cdk-ecr-deployment-<version>. The npm lock decides the version in
# node_modules; every language's lock must name the same one.
ecr_version="$(node -p 'require("./node_modules/cdk-ecr-deployment/package.json").version')"
ecr_go_module=github.com/cdklabs/cdk-ecr-deployment-go/cdkecrdeployment/v4
# ecr_check LOCK VERSION: VERSION is what LOCK names ("" if it names none; scripts/bindings/lock.sh
# builds before the Java and Go locks have it)
ecr_check() {
  if [ "$2" != "$ecr_version" ] && { [ -n "$2" ] || ! $build_only; }; then
    fail "node_modules/cdk-ecr-deployment is $ecr_version (package-lock.json) but $1 has cdk-ecr-deployment '${2:-none}'" \
      "sed -i 's/^cdk-ecr-deployment==.*/cdk-ecr-deployment==$ecr_version/' examples/basic/python/requirements.in && scripts/bindings/lock.sh"
  fi
}
ecr_check examples/basic/python/requirements.txt "$(sed -n 's/^cdk-ecr-deployment==\([^ ]*\).*/\1/p' examples/basic/python/requirements.txt)"
ecr_check examples/basic/java/pom.xml "$(java_pin io.github.cdklabs cdk-ecr-deployment)"
ecr_check examples/basic/go/go.mod "$(sed -n "s|^[[:space:]]*$ecr_go_module v\([^ ]*\).*|\1|p" examples/basic/go/go.mod)"
ecr_cache="$cache/cdk-ecr-deployment-$ecr_version"
ecr_java="$ecr_cache/java/io/github/cdklabs/cdk-ecr-deployment"
ecr_go="$ecr_cache/go/cdkecrdeployment"
ecr_pacmak=(npx jsii-pacmak ./node_modules/cdk-ecr-deployment -v)
# Each builds into a scratch directory and moves it in place when complete, so a failed run leaves no half cache.
build_ecr_java() {
  [ -f "$ecr_java/$ecr_version/cdk-ecr-deployment-$ecr_version.jar" ] && { echo "reusing $ecr_java"; return 0; }
  rm -rf "$ecr_cache/java.tmp" \
    && "${ecr_pacmak[@]}" --outdir "$ecr_cache/java.tmp" --target java --maven-local-repository "$cache/m2" "${java_define[@]}" \
    && rm -rf "$ecr_cache/java" && mv "$ecr_cache/java.tmp/java" "$ecr_cache/java" && rm -rf "$ecr_cache/java.tmp"
}
# jsii-pacmak's Go code only (its Go build would fetch the module from the proxy); the indirect
# requirements are dropped for the reason given at build_go below.
build_ecr_go() {
  [ -f "$ecr_go/go.mod" ] && { echo "reusing $ecr_go"; return 0; }
  rm -rf "$ecr_cache/go.tmp" \
    && "${ecr_pacmak[@]}" --code-only --outdir "$ecr_cache/go.tmp" --target go \
    && (cd "$ecr_cache/go.tmp/go/cdkecrdeployment" && go_drop_indirect) \
    && rm -rf "$ecr_cache/go" && mv "$ecr_cache/go.tmp/go" "$ecr_cache/go" && rm -rf "$ecr_cache/go.tmp"
}
# go_drop_indirect: remove the indirect requirements from the go.mod in the current directory
go_drop_indirect() {
  local drop
  drop="$(go mod edit -json | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log((m.Require || []).filter(r => r.Indirect).map(r => `-droprequire=${r.Path}`).join(" "))')" || return 1
  if [ -n "$drop" ]; then go mod edit $drop || return 1; fi
}
export GOMODCACHE="$cache/gomod" GOCACHE="$cache/go-build" GOFLAGS="-modcacherw" GOTOOLCHAIN=local
log "cdk-ecr-deployment $ecr_version: Java jar and Go module (background; built once per version)"
job ecr_java build_ecr_java
job ecr_go build_ecr_go

# Independent of the library's build: the TypeScript synth (from src/, type-checked by the test
# suite, so transpile-only here) and the Python app's venv, keyed by its lock and the Python version.
if ! $build_only; then
  log "TypeScript synth and the Python venv (background)"
  TS_NODE_TRANSPILE_ONLY=true job typescript synth typescript examples/basic "$ts_app"
  py_lock=examples/basic/python/requirements.txt
  venv="$cache/python-$(cat "$py_lock" <(python3 --version) | sha256sum | cut -c1-16)"
  make_venv() {
    [ -f "$venv/.complete" ] && { echo "reusing $venv"; return 0; }
    rm -rf "$venv" && python3 -m venv "$venv" \
      && PIP_CACHE_DIR="$cache/pip" PIP_FIND_LINKS="" "$venv/bin/pip" install --require-hashes --no-deps -r "$py_lock" \
      && touch "$venv/.complete"
  }
  job venv make_venv
fi

# jsii-pacmak reads lib/.jsii; CI's clean clone has not compiled yet.
log "jsii compile"
npx projen compile > "$work/compile.log" 2>&1 || fail "jsii compile" "npx projen compile" "$work/compile.log"

# Our jar's Maven build resolves cdk-ecr-deployment from $out/java, a local repository jsii-pacmak adds to
# its settings, and so does the app's pom (bindings.repository): link the built one in.
await ecr_java "cdk-ecr-deployment $ecr_version's Java jar" "${ecr_pacmak[*]} --outdir /tmp/ecr --target java"
mkdir -p "$out/java/io/github/cdklabs"
ln -s "$ecr_java" "$out/java/io/github/cdklabs/cdk-ecr-deployment"
[ -n "$java_versions" ] && java_define=("--mvn-define=maven.version.ignore=^(?!($java_versions|${ecr_version//./\\.})\$).*")

# Python wheel and Java jar: one jsii-pacmak invocation. Its Python build installs its tools
# (setuptools, build, twine) from PyPI: PIP_CONSTRAINT pins them to scripts/bindings/pacmak-python-build.txt.
pacmak_cmd=(npx jsii-pacmak -v --outdir "$out" --target python --target java
  --maven-local-repository "$cache/m2" "${java_define[@]}")
log "jsii-pacmak: Python wheel and Java jar (background)"
PIP_CACHE_DIR="$cache/pip" PIP_CONSTRAINT="$root/scripts/bindings/pacmak-python-build.txt" PIP_FIND_LINKS="" \
  job pacmak "${pacmak_cmd[@]}"

# Go: jsii-pacmak's Go build runs `go mod tidy` on the go.mod it generates, whose indirect requirements
# come from the npm packages (e.g. awscdkcloudassemblyschema/v53 v53.28.0) rather than from the Go
# modules, and the Go module proxy serves only the versions aws-cdk-go itself requires (v53.25.0). So
# generate the Go sources, drop the indirect requirements, and do what its build does: tidy and build.
# cdk-ecr-deployment's module is copied beside ours, in dist/bindings/go/cdkecrdeployment, and both go.mod
# files (ours here, examples/basic/go's committed) replace it with that directory.
go_module="$out/go/cdkairflowecs"
build_go() {
  npx jsii-pacmak --code-only --outdir "$out" --target go || return 1
  cp -a "$ecr_go" "$out/go/cdkecrdeployment" || return 1
  cd "$go_module" || return 1
  go_drop_indirect && go mod edit -replace="$ecr_go_module=../cdkecrdeployment" && go mod tidy && go build ./...
}
await ecr_go "cdk-ecr-deployment $ecr_version's Go module" "${ecr_pacmak[*]} --code-only --outdir /tmp/ecr --target go"
log "Go module: jsii-pacmak --code-only, go mod tidy, go build"
(build_go) > "$work/go.log" 2>&1 || fail "the Go module (jsii-pacmak --code-only --target go, go mod tidy, go build)" \
  "npx jsii-pacmak --code-only --outdir dist/bindings --target go && cp -a $ecr_go dist/bindings/go/ && cd dist/bindings/go/cdkairflowecs && go mod edit -replace=$ecr_go_module=../cdkecrdeployment && go mod tidy && go build ./..." "$work/go.log"
log "Go module built: ${go_module#$root/}"
if ! $build_only; then
  log "Go synth (background)"
  job go synth go examples/basic/go "go run -mod=readonly ."
fi

await pacmak "jsii-pacmak (Python wheel, Java jar)" "PIP_CONSTRAINT=scripts/bindings/pacmak-python-build.txt ${pacmak_cmd[*]}"
wheel="$(ls "$out"/python/*.whl)"
jar="$(ls "$out"/java/io/github/cdk-airflow-ecs/cdk-airflow-ecs/*/cdk-airflow-ecs-*[0-9].jar)"
log "jsii-pacmak built ${wheel#$root/} and ${jar#$root/} ($(grep -o 'Packaged\..*' "$work/pacmak.log" | tail -n 1))"
$build_only && exit 0

# Maven caches release versions for good: drop the previous run's cdk-airflow-ecs 0.0.0 so the app gets this jar.
rm -rf "$cache/m2/io/github/cdk-airflow-ecs"
java_app="mvn -B -q -C -Dmaven.repo.local=$cache/m2 -Dbindings.repository=file://$out/java compile exec:java"
log "Java synth (background)"
job java synth java examples/basic/java "$java_app"

await venv "installing $py_lock" "python3 -m venv /tmp/venv && /tmp/venv/bin/pip install --require-hashes --no-deps -r $py_lock"
"$venv/bin/pip" install -q --no-deps --force-reinstall "$wheel" > "$work/wheel.log" 2>&1 \
  || fail "installing the wheel" "$venv/bin/pip install --no-deps $wheel" "$work/wheel.log"
"$venv/bin/pip" check > "$work/pip-check.log" 2>&1 \
  || fail "the wheel's requirements are not in $py_lock" "$venv/bin/pip check" "$work/pip-check.log"
log "Python synth"
PYTHONDONTWRITEBYTECODE=1 job python synth python examples/basic/python "$venv/bin/python app.py"

for lang in typescript python java go; do
  case "$lang" in
    typescript) app="$ts_app" ;; python) app="$venv/bin/python app.py" ;; java) app="$java_app" ;; go) app="go run -mod=readonly ." ;;
  esac
  await "$lang" "synthesizing examples/basic in $lang" "(cd examples/basic$([ "$lang" = typescript ] || echo "/$lang") && $cdk synth --app '$app')"
  log "$lang: $(tail -n 1 "$work/$lang.log")"
done

npx ts-node --project tsconfig.dev.json scripts/bindings/compare.ts \
  "$out/cdk.out/typescript" "$out/cdk.out/python" "$out/cdk.out/java" "$out/cdk.out/go" \
  || fail "the templates differ" "npm run bindings"
log "done in $(( $(date +%s) - start )) s"
