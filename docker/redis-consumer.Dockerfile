# redis-consumer: the Redis microservice, with an HTTP port for its health endpoint only. Build context is the
# repository root:
#   docker build -f docker/redis-consumer.Dockerfile -t nest-redis-otel-redis-consumer .
# docker/compose.yaml builds it this way; docker/README.md explains the stages.

# Build: the whole workspace, built by Nx. The `prune` target leaves dist/apps/redis-consumer/ with main.js, the SDK
# bootstrap instrumentation.js, and a package.json + package-lock.json listing only what the bundle requires.
FROM node:24.21.0-bookworm-slim AS build
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
WORKDIR /workspace
COPY package.json package-lock.json ./
# Same fallback as .ci/run (docs/decisions.md, "Installing"): a lockfile written where the registry serves only the
# Linux builds of platform-specific optional packages is refused by `npm ci`; `npm install` keeps its versions.
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY . .
RUN npx nx run redis-consumer:prune --output-style=static

# Production dependencies only, from the pruned manifest and lockfile. No install scripts: the one package that has
# one (protobufjs) only prints a version hint.
FROM node:24.21.0-bookworm-slim AS dependencies
WORKDIR /app
COPY --from=build /workspace/dist/apps/redis-consumer/package.json /workspace/dist/apps/redis-consumer/package-lock.json ./
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
