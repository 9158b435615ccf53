# The two commands a new user needs: `make run` (the service) and `make test` (every test).
# Both install what they need first.
SHELL := /bin/bash
NPM_INSTALL_STAMP := node_modules/.install-stamp
# Native addons (better-sqlite3) build against Node's own headers where the distribution ships them.
export npm_config_nodedir ?= $(if $(wildcard /usr/include/node/node.h),/usr,)

.PHONY: install build run test test-unit test-integration lint clean bench

install: $(NPM_INSTALL_STAMP)

$(NPM_INSTALL_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: install
	npx tsc -p tsconfig.build.json

run: build
	mkdir -p data
	node dist/src/cli/main.js start

test: build
	npx tsc -p tsconfig.json --noEmit
	npx jest --ci

bench: build
	node dist/bench/run.js

clean:
	rm -rf dist node_modules data
