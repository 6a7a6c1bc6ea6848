// Applies the committed migrations (prisma/<provider>/migrations/*/migration.sql)
// in order, one transaction each, recorded in Prisma's own _prisma_migrations
// layout so `prisma migrate status` stays honest. Prisma's CLI cannot deploy to
// PostgreSQL offline, so the app does it, safely when many processes start at once.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseConfig } from '../config/config.js';

export type Migration = { name: string; sql: string; checksum: string };

const prismaDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma');

export function readMigrations(provider: DatabaseConfig['provider'], root = prismaDir): Migration[] {
  const dir = join(root, provider, 'migrations');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'migration.sql')))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export function migrationRow(m: Migration) {
  return { id: randomUUID(), checksum: m.checksum, name: m.name };
}
