import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { sqlitePath } from './database.js';
import { migrationRow, type Migration } from './migration-files.js';

const ledger = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

export function migrateSqlite(url: string, migrations: Migration[]): string[] {
  const file = sqlitePath(url);
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: 15_000 });
  try {
    // WAL lets readers and the one writer work at once (persistent per file).
    db.pragma('journal_mode = WAL');
    db.exec(ledger);
    // Table rebuilds need foreign keys off, and the pragma is a no-op inside a transaction.
    db.pragma('foreign_keys = OFF');
    const applied: string[] = [];
    for (const m of migrations) {
      // BEGIN IMMEDIATE takes the write lock first, so two processes starting at
      // once serialise here and the second sees the first one's ledger row.
      db.exec('BEGIN IMMEDIATE');
      try {
        const done = db
          .prepare('SELECT 1 FROM "_prisma_migrations" WHERE migration_name = ? AND finished_at IS NOT NULL')
          .get(m.name);
        if (!done) {
          db.exec(m.sql);
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) throw new Error(`migration ${m.name} breaks ${broken.length} foreign keys`);
          const row = migrationRow(m);
          db.prepare(
            `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
             VALUES (?, ?, current_timestamp, ?, 1)`,
          ).run(row.id, row.checksum, row.name);
          applied.push(m.name);
        }
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    }
    return applied;
  } finally {
    db.close();
  }
}
