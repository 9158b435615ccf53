#!/usr/bin/env bash
# The OpenSearch suite on a real node: start it (when Java and Maven are here), run the suite,
# always stop the node. Without Java or Maven the suite reports itself skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ] || ! command -v mvn >/dev/null 2>&1; then
  echo "OpenSearch suite: SKIPPED (no Java or Maven on this machine; see docs/opensearch.md)"
  exit 0
fi

# A node of this run's own, on a free port unless OPENSEARCH_PORT names one: never whatever answers
# on 9200 (a user's cluster, or another checkout's test node, which that run stops under us).
# A node this checkout already runs (make opensearch-up) is used on its port.
if [ -z "${OPENSEARCH_PORT:-}" ]; then
  running_port="$(cat test/opensearch/data/node.port 2>/dev/null || true)"
  if grep -qa qbl.opensearch.TestNode "/proc/$(cat test/opensearch/data/node.pid 2>/dev/null)/cmdline" 2>/dev/null; then
    # This checkout's node, left running: used on its port, or stopped when its port is unknown.
    [ -n "$running_port" ] || bash scripts/opensearch-down.sh
  else
    running_port=""
  fi
  OPENSEARCH_PORT="${running_port:-$(node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")}"
  export OPENSEARCH_PORT
fi
[[ "$OPENSEARCH_PORT" =~ ^[0-9]+$ ]] || { echo "test-opensearch: no port for the node (OPENSEARCH_PORT='$OPENSEARCH_PORT')" >&2; exit 1; }

bash scripts/opensearch-up.sh || { bash scripts/opensearch-down.sh; exit 1; }
npx jest --ci -c test/opensearch/jest.config.js
status=$?
bash scripts/opensearch-down.sh
exit $status
