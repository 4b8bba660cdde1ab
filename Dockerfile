# syntax=docker/dockerfile:1
# One image for the API, both workers and the migrations; docker-compose.yml picks the command.
# The commands are the bodies of the npm scripts (`node --import tsx <entry>`), run without npm so signals reach the
# process: tsx's CLI would run the entry in a child and SIGKILL it when it is slow to take a SIGTERM.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Production dependencies only (no embedded-postgres, no dev servers: those live in dev/ with the dev dependencies).
# --ignore-scripts: no install script is needed here — esbuild finds its platform binary without one.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The Temporal core bridge ships prebuilt binaries for every OS; only the Linux ones can run here, so the rest go.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name '*-linux-gnu' -exec rm -rf {} +

# The workflow bundle, built once here instead of by webpack at every worker start, tracing interceptors included
# (src/workers/orders/workflow-bundle.ts); it needs only production dependencies.
FROM deps AS workflow-bundle
COPY tsconfig.json ./
COPY src ./src
COPY scripts/build-workflow-bundle.ts ./scripts/
RUN ./node_modules/.bin/tsx scripts/build-workflow-bundle.ts

# The operator console's page and bundle, built once here instead of by esbuild at every API start.
FROM deps AS console-bundle
COPY tsconfig.json ./
COPY src ./src
COPY scripts/build-console.ts ./scripts/
RUN ./node_modules/.bin/tsx scripts/build-console.ts /app/dist/console

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    CONSOLE_ASSETS_DIR=/app/dist/console \
    PORT=3000
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# What runs besides the services: the migrations (the chart's hook Job, compose's job), the operator's token tool and
# its tool for the orders worker's deployment versions (docs/worker-versioning.md).
COPY scripts/migrate.ts scripts/token.ts scripts/worker-deployment.ts ./scripts/
COPY --from=workflow-bundle /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
COPY --from=console-bundle /app/dist/console ./dist/console
# Files stay root-owned and read-only to the process; tsx keeps its cache under /tmp.
# Where the embedded default keeps the API's signing key and the payload keys (volumes in docker-compose).
RUN mkdir -p /var/lib/order-system/auth /var/lib/order-system/keys \
 && chown node:node /var/lib/order-system/auth /var/lib/order-system/keys
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/api/server.ts"]
