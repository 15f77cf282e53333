# The sidecar image (docs/deployment.md). Build: docker build -t tryton-google .
# Runs `tryton-google serve` by default; any other subcommand works too, e.g.
#   docker compose run --rm sidecar migrate --database tryton      (docs/deployment.md)
# Node 24 LTS (Node 20 reached its end of life on 2026-04-30); package.json "engines" says what runs.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
# `npm ci` builds dist/ (the package's prepare script); the dev dependencies go afterwards.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev && npm cache clean --force
ENV NODE_ENV=production \
    SIDECAR_HOST=0.0.0.0 \
    SIDECAR_PORT=8765
USER node
EXPOSE 8765
HEALTHCHECK --interval=10s --timeout=5s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SIDECAR_PORT || 8765) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/tryton-google.js"]
CMD ["serve"]
