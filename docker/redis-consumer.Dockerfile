# redis-consumer: the Redis microservice, with an HTTP port for its health endpoint only. Build context is the
# repository root:
#   docker build -f docker/redis-consumer.Dockerfile -t nest-redis-otel-redis-consumer .
# docker/compose.yaml builds it this way; docker/README.md explains the stages.

# Build: the whole workspace, built by Nx. The `prune` target leaves dist/apps/redis-consumer/ with main.js, the SDK
# bootstrap instrumentation.js, the built @nest-redis-otel/* packages it uses in workspace_modules/, and a
# package.json + package-lock.json listing only its production dependencies.
FROM node:24.21.0-bookworm-slim AS build
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
WORKDIR /workspace
# The manifests first (npm workspaces: the root's and each package's), so that the install layer is reused until
# one of them changes.
COPY package.json package-lock.json ./
COPY apps/items-api/package.json apps/items-api/
COPY apps/redis-consumer/package.json apps/redis-consumer/
COPY libs/config/package.json libs/config/
COPY libs/item-messages/package.json libs/item-messages/
COPY libs/sdk/package.json libs/sdk/
COPY libs/streams-transport/package.json libs/streams-transport/
COPY libs/tracing/package.json libs/tracing/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx nx run redis-consumer:prune --output-style=static

# Production dependencies only, from the pruned manifest and lockfile; the workspace packages are `file:` links into
# workspace_modules/. No install scripts: the one package that has one (protobufjs) only prints a version hint.
FROM node:24.21.0-bookworm-slim AS dependencies
WORKDIR /app
COPY --from=build /workspace/dist/apps/redis-consumer/package.json /workspace/dist/apps/redis-consumer/package-lock.json ./
COPY --from=build /workspace/dist/apps/redis-consumer/workspace_modules ./workspace_modules
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production HEALTH_PORT=3001
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /workspace/dist/apps/redis-consumer/ ./
USER node
EXPOSE 3001
# The slim image has no curl: Node's fetch asks GET /health (200 only while subscribed to its Redis channels).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTH_PORT || 3001}/health`, { signal: AbortSignal.timeout(4000) }).then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
# As under `nx serve`: the SDK bootstrap is loaded with --import before the app, so that it patches what the app loads.
CMD ["node", "--import", "./instrumentation.js", "main.js"]
