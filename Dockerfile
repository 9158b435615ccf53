# syntax=docker/dockerfile:1
# opensips-qbl: build stage compiles TypeScript and the better-sqlite3 addon; the runtime stage
# holds only dist/ and production dependencies, and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
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
RUN npx tsc -p tsconfig.build.json
# Production dependencies only; the native addon is built here, with the toolchain.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    SQLITE_PATH=/app/data/qbl.db \
    QBL_HTTP_HOST=0.0.0.0 \
    QBL_HTTP_PORT=9464
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/dist dist
# A named volume mounted here inherits this ownership on first use.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 9464
# /healthz answers while the process runs; /readyz also checks the broker and the store.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=64", "dist/src/cli/main.js"]
CMD ["start"]
