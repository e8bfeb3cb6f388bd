# agentplane's image: `agentplane serve --kube …` (see manifests/install/deployment.yaml).
#
#   docker build -t ghcr.io/agentplane/agentplane:0.1.0 .
#
# There is no compile step: Node 24 runs the TypeScript sources directly (type stripping), so the
# image holds src/ (with the generated src/gen/) and the production dependencies. Node is the base
# image's; the `node` npm package the project pins for development is not used here.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no runtime dependency needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# 65532 ("nonroot"): numeric, so Kubernetes can check runAsNonRoot; owns nothing in /app.
USER 65532:65532
EXPOSE 9978 9095
# A small young generation keeps RSS near the live data (see the README's benchmarks).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/src/cli.ts"]
CMD ["serve", "--kube"]
