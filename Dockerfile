# syntax=docker/dockerfile:1
#
# One image for every Rivulet service. Each container runs one compiled entry point,
#   node dist/services/<receiver|scheduler|lineage|executor>/main.js
# (the Helm chart passes it as the container's args; ENTRYPOINT is `node`). The image also carries
# the `rivulet` CLI (bin/, dist/cli/), examples/ and esbuild, which `rivulet submit` needs to
# bundle a job: the chart's `helm test` Pod uses them. The layout under /app is the repository's,
# so paths in the chart work unchanged from a checkout (the chart tests rely on that).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY lib ./lib
COPY services ./services
COPY client ./client
COPY cli ./cli
COPY examples ./examples
COPY bench ./bench
COPY scenarios ./scenarios
RUN npm run build

# ---- runtime: production dependencies, compiled code, the wire contract ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# lib/proto loads the .proto files at run time.
COPY proto ./proto
COPY bin ./bin
COPY examples ./examples
# The `node` user (uid/gid 1000) of the base image; the chart's securityContext matches it.
USER node
EXPOSE 7070 7071 7072 7073
ENTRYPOINT ["node"]
CMD ["dist/services/scheduler/main.js"]
