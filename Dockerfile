# The one image every pipeline service runs from (infra/k8s names it ghcr.io/costwise/costwise):
#   docker build -t ghcr.io/costwise/costwise:0.1.0 .
# Each Deployment picks its service by command (node --conditions=compiled <package>/dist/main.js),
# so services run the build output, never the TypeScript compiler.
FROM node:20-bookworm AS build
WORKDIR /app
# The cache's vector index (hnswlib-node) compiles with node-gyp; onnxruntime-node's CPU binary ships in
# its npm package, and its install step (which downloads CUDA builds) is not allowed to run.
ENV ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
COPY . .
RUN npm ci --no-audit --no-fund && npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
# No default command: each Deployment (infra/k8s) and compose entry names its service.
