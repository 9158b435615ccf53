#!/usr/bin/env bash
# Stops the node that scripts/opensearch-up.sh started (by its pid file) and removes its data.
# Idempotent: nothing running and no data is a success.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/test/opensearch/data"
PID_FILE="$DATA/node.pid"

say() { echo "opensearch-down: $*"; }

if [[ -f "$PID_FILE" ]]; then
  pid="$(cat "$PID_FILE")"
  # Only our node: a stale pid file must not stop a process that reused the pid.
  if grep -qa qbl.opensearch.TestNode "/proc/$pid/cmdline" 2>/dev/null; then
    say "stopping node (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "node did not stop within 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
  fi
else
  say "no pid file; no node of ours is running"
fi
rm -rf "$DATA"
say "stopped; removed $DATA"
