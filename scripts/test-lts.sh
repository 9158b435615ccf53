#!/usr/bin/env bash
# The product on the supported Node.js LTS (package.json's engines), whatever Node this machine
# runs: take that LTS from the npm registry's `node` package into a cache, copy the repository's
# files, install its dependencies with that Node (better-sqlite3 compiled against the headers
# the package ships: node-gyp cannot download headers everywhere), build, type-check, and run
# the default jest suite (unit, property, integration tests on the local RabbitMQ, and the browser
# test) on it.
# The OpenSearch and broker-restart suites run once, on the machine's Node (make test).
#
#   bash scripts/test-lts.sh [jest args…]     QBL_LTS_NODE=24 picks the major, QBL_LTS_CACHE the cache
set -euo pipefail
cd "$(dirname "$0")/.."

major=${QBL_LTS_NODE:-$(node -p "/(\d+)/.exec(require('./package.json').engines.node)[1]")}
cache=${QBL_LTS_CACHE:-$PWD/.cache/node-lts}
runtime="$cache/node-$major"
app="$cache/app"

# 1. The runtime, once per cache (the `node` package installs the platform's official build).
if ! "$runtime/node_modules/node/bin/node" --version 2>/dev/null | grep -q "^v$major\."; then
  rm -rf "$runtime" && mkdir -p "$runtime"
  npm install --prefix "$runtime" --no-save --no-package-lock --no-audit --no-fund "node@$major"
  # The package's preinstall script fetches the platform's binary: refused scripts leave none.
  "$runtime/node_modules/node/bin/node" --version | grep -q "^v$major\." \
    || { echo "test-lts: node@$major installed no Node $major binary (were its install scripts refused?)" >&2; exit 1; }
fi
node_bin="$(cd "$runtime/node_modules/node/bin" && pwd)"
node_h=$(find "$runtime/node_modules" -path '*/include/node/node.h' -print -quit)
[ -n "$node_h" ] || { echo "test-lts: the node@$major package ships no headers (include/node/node.h)" >&2; exit 1; }
node_dir=$(dirname "$(dirname "$(dirname "$node_h")")")

# 2. A copy of the work tree as git sees it (tracked and new files, nothing ignored), with its
#    own node_modules: the native addon must match this Node's ABI, not the machine's.
rm -rf "$app" && mkdir -p "$app"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
  | tar --null -T - -cf - | tar -xf - -C "$app"
# Some tests ask git which files the repository holds.
git -C "$app" init -q && git -C "$app" add -A

# 3. Install, build, type-check and test with the LTS first on the PATH (npm runs on it too).
#    The suite includes the browser test, on the machine's Chromium whatever Node drives it
#    (a no-op when `make test` already installed it; `make test-lts` may run alone).
bash scripts/ensure-chromium.sh
cd "$app"
export PATH="$node_bin:$PATH"
export npm_config_nodedir="$node_dir"
echo "test-lts: $(node --version) from the registry's node@$major package, headers in $node_dir"
npm ci --no-audit --no-fund
node -e "require('better-sqlite3')(':memory:').close()"
npx tsc -p tsconfig.build.json
npx tsc -p tsconfig.json --noEmit
npx jest --ci "$@"
