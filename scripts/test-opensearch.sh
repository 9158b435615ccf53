#!/usr/bin/env bash
# The OpenSearch suite on a real node: start it (when Java and Maven are here), run the suite,
# always stop the node. Without Java or Maven the suite reports itself skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ] || ! command -v mvn >/dev/null 2>&1; then
  echo "OpenSearch suite: SKIPPED (no Java or Maven on this machine; see docs/opensearch.md)"
  exit 0
fi

bash scripts/opensearch-up.sh || { bash scripts/opensearch-down.sh; exit 1; }
npx jest --ci -c test/opensearch/jest.config.js
status=$?
bash scripts/opensearch-down.sh
exit $status
