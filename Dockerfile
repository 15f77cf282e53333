# The sidecar image. Build: docker build -t tryton-google .
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
USER node
EXPOSE 8765
ENTRYPOINT ["node", "bin/tryton-google.js"]
CMD ["serve"]
