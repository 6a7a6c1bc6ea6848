// The database behind Prisma: SQLite (embedded default) or PostgreSQL, chosen by
// the URL. The app is typed against the SQLite client; the PostgreSQL client is
// generated from the same model, so its model types are identical.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as SqliteClient } from './generated/sqlite/index.js';
import { PrismaClient as PostgresClient } from './generated/postgres/index.js';
import type { DatabaseConfig } from '../config/config.js';
import { createPgPool, type PgPoolTimeouts } from './pg-pool.js';

export type Db = SqliteClient;

/**
 * Options for every interactive transaction (`$transaction(async (tx) => …)`). They are a few
 * short statements, but on a loaded host Prisma's default 5 s could expire one mid-way.
 */
export const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 20_000 } as const;

/** `timeouts` (PostgreSQL only) keep their production defaults outside tests. */
export function createDb(config: DatabaseConfig, timeouts?: PgPoolTimeouts): Db {
  if (config.provider === 'sqlite') {
    mkdirSync(dirname(sqlitePath(config.url)), { recursive: true });
    return new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: config.url, timeout: 10_000 }) });
  }
  // Our own pool (see pg-pool.ts), ended by $disconnect like the one Prisma would make.
  const adapter = new PrismaPg(createPgPool(config.url, config.poolSize, timeouts), { disposeExternalPool: true });
  return new PostgresClient({ adapter }) as unknown as Db;
}

export function sqlitePath(url: string): string {
  return url.replace(/^file:/, '').replace(/\?.*$/, '');
}
