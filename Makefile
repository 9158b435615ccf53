# The two commands a new user needs: `make run` (the service) and `make test` (every test).
# Both install what they need first.
SHELL := /bin/bash
NPM_INSTALL_STAMP := node_modules/.install-stamp
# Native addons (better-sqlite3) build against Node's own headers where the distribution ships them.
export npm_config_nodedir ?= $(if $(wildcard /usr/include/node/node.h),/usr,)

.PHONY: install build run test clean bench bench-reconcile kibana opensearch-up opensearch-down test-opensearch test-lts

install: $(NPM_INSTALL_STAMP)

$(NPM_INSTALL_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: install
	npx tsc -p tsconfig.build.json

# A larger young generation: the pipeline allocates per event, and scavenges were a third of its time.
NODE_RUN_FLAGS := --max-semi-space-size=64

run: build
	mkdir -p data
	node $(NODE_RUN_FLAGS) dist/src/cli/main.js start

# Every test: type-check, unit/property/integration (real RabbitMQ; the unit tests include the
# import-cycle and layering check of docs/architecture.md, test/unit/architecture.test.ts) and the
# browser test (headless Chromium from Debian, installed when missing), the same again on the
# supported Node.js LTS taken from the npm registry (whatever Node runs make), the suite on a real
# OpenSearch node, then the tests that stop and start a broker: those run against a RabbitMQ node
# of their own (started on free ports and stopped by their set-up), never the local broker.
test: build
	npx tsc -p tsconfig.json --noEmit
	bash scripts/ensure-chromium.sh
	npx jest --ci
	bash scripts/test-lts.sh
	bash scripts/test-opensearch.sh
	npx jest --ci -c test/serial/jest.config.js

# Build, type-check and the default jest suite on the supported Node.js LTS (package.json's
# engines), installed from the registry's `node` package into .cache/node-lts.
test-lts:
	bash scripts/test-lts.sh

# A single real OpenSearch node on 127.0.0.1:$${OPENSEARCH_PORT:-9200}, from Maven Central.
opensearch-up:
	bash scripts/opensearch-up.sh
opensearch-down:
	bash scripts/opensearch-down.sh
test-opensearch: build
	bash scripts/test-opensearch.sh

bench: build
	node $(NODE_RUN_FLAGS) dist/bench/run.js

# qbl reconcile on a month-size carrier file (docs/performance.md); CALLS=N for another size.
bench-reconcile: build
	node dist/bench/reconcile.js $(if $(CALLS),--calls $(CALLS))

clean:
	rm -rf dist node_modules data

# Imports the saved objects (data views, dashboard) into Kibana 8.8 or later (saved by 8.8: older
# Kibanas refuse them).
KIBANA_URL ?= http://127.0.0.1:5601
kibana:
	@curl -fsS -X POST "$(KIBANA_URL)/api/saved_objects/_import?overwrite=true" \
	  -H 'kbn-xsrf: true' $(if $(KIBANA_USER),-u "$(KIBANA_USER):$(KIBANA_PASSWORD)") \
	  --form file=@kibana/qbl.ndjson
	@echo
