# syntax=docker/dockerfile:1
# Build: compile better-sqlite3 and generate the Prisma clients.
FROM node:20-bookworm AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY package.json package-lock.json prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY bin ./bin
COPY src ./src
RUN npm run db:generate && npm prune --omit=dev

# Run: the same `emc` binary for every role, as an unprivileged user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production EMC_HOST=0.0.0.0 EMC_DATA_DIR=/data CHECKPOINT_DISABLE=1
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src ./src
COPY --from=build /app/prisma ./prisma
COPY package.json ./
COPY bin ./bin
COPY views ./views
COPY public ./public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 5000 5001 5002
ENTRYPOINT ["node", "bin/emc.js"]
CMD ["start", "--role", "all"]
