# syntax=docker/dockerfile:1
# opensips-qbl on Node.js 22 LTS (package.json's engines; why not 24: src/runtime.ts): the build stage compiles TypeScript and the better-sqlite3
# addon; the runtime stage holds only dist/ and production dependencies, runs as the
# unprivileged `node` user under tini (signals forwarded, zombies reaped, also for `docker run`).
#
#   docker build -t opensips-qbl .                                  # SQLite, Elasticsearch, OpenSearch
#   docker build --build-arg WITH_AWS_SIGV4=1 -t opensips-qbl .     # + Amazon OpenSearch (SigV4, AWS SDK)

FROM node:22-bookworm-slim AS build
# Toolchain for better-sqlite3 when no prebuilt binary matches (it stays in this stage).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY consumers consumers
COPY correlators correlators
COPY bench bench
RUN npx tsc -p tsconfig.build.json && chmod +x dist/src/cli/main.js
# Production dependencies only; the native addon is built here, with the toolchain. The AWS
# credential chain (about 20 packages) is an optional peer: installed only when asked for, at the
# version the lock file pins.
ARG WITH_AWS_SIGV4=0
RUN npm ci --omit=dev --no-audit --no-fund \
 && if [ "$WITH_AWS_SIGV4" = 1 ]; then \
      aws=@aws-sdk/credential-provider-node; \
      npm pkg set "dependencies.$aws=$(npm pkg get "peerDependencies.$aws" | tr -d '"')" \
      && npm pkg delete "devDependencies.$aws" \
      && npm install --omit=dev --no-audit --no-fund; \
    fi \
 && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    SQLITE_PATH=/app/data/qbl.db \
    QBL_HTTP_HOST=0.0.0.0 \
    QBL_HTTP_PORT=9464
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/dist dist
# `qbl …` on the PATH for `docker exec` / `docker compose exec` (e.g. `qbl dlq replay`, `qbl status`);
# a named volume mounted on /app/data inherits its ownership on first use.
RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/qbl \
 && mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 9464
# /healthz on whatever QBL_HTTP_HOST/QBL_HTTP_PORT the service listens on (qbl healthcheck reads them).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["qbl", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=64", "dist/src/cli/main.js"]
CMD ["start"]
