# Build stage: compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY worker ./worker
RUN npm run build && npm prune --omit=dev

# Runtime stage: only what runs.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY views ./views
COPY bin ./bin
RUN mkdir -p /var/spool/retention && chown node:node /var/spool/retention
USER node
EXPOSE 3000
CMD ["node", "dist/src/portal/main.js"]
