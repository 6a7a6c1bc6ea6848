import type { DatabaseConfig } from '../config/config.js';
import { readMigrations } from './migration-files.js';
import { migratePostgres } from './migrate-postgres.js';
import { migrateSqlite } from './migrate-sqlite.js';

/** Brings the database up to the latest migration; returns the names applied now. */
export async function migrate(config: DatabaseConfig, migrations = readMigrations(config.provider)): Promise<string[]> {
  return config.provider === 'sqlite' ? migrateSqlite(config.url, migrations) : migratePostgres(config, migrations);
}
