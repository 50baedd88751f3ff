# syntax=docker/dockerfile:1
# One image for both Flow processes: the gateway by default (CMD below); the worker runs
# `node dist/workers/main.js` (docker-compose.yml overrides `command`). Healthchecks live in the compose file.

# Minor-pinned so rebuilds pick up Node 20.20 security patches but never a new minor; engines asks for >=20.19.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first so source edits reuse the cached `npm ci` layer.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# tsc emits dist/gateway, dist/workers and dist/workflows (the worker bundles dist/workflows/index.js at startup).
RUN npm run build \
 && mkdir -p examples

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# The worker's actions run git (with ssh for remotes) and rsync as real processes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git rsync openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# webpack and @swc/core are dependencies of @temporalio/worker, so --omit=dev still installs the workflow bundler.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# The console's browser code is bundled by the gateway (esbuild, through tsx) on its first request, from its source.
COPY --from=build /app/console/src ./console/src
COPY --from=build /app/tsconfig.json ./tsconfig.json
# Created in the build stage because git does not keep empty directories, so it may be absent from the context.
COPY --from=build /app/examples ./examples
# The gateway stores a generated API token in .data when FLOW_API_TOKEN is unset; the rest of /app stays root-owned.
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 3000
CMD ["node", "dist/gateway/main.js"]
