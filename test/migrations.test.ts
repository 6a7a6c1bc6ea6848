import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import Database from 'better-sqlite3';
import { migrate } from '../src/db/migrate.js';
import { readMigrations } from '../src/db/migration-files.js';
import { postgresUrl, resetPostgres } from './helpers/app.js';

const expectedTables = ['CacheConfig', 'ConsoleSession', 'Image', 'MetricSample', 'PoolNode', 'PoolState', 'ScalerPolicy', 'ScalingEvent', 'SharedSecret', 'WorkerPolicy', 'WorkerSample', '_prisma_migrations'];

test('SQLite: processes migrating at once apply each migration exactly once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'emc-migrate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = { provider: 'sqlite' as const, url: `file:${join(dir, 'emc.db')}`, poolSize: 1 };
  const runs = await Promise.all([migrate(config), migrate(config), migrate(config)]);
  const all = readMigrations('sqlite').map((m) => m.name);
  assert.deepEqual(runs.flat().sort(), all.sort());
  assert.deepEqual(await migrate(config), [], 'a second start applies nothing');

  const db = new Database(join(dir, 'emc.db'), { readonly: true });
  t.after(() => db.close());
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  assert.deepEqual(tables.map((r) => r.name).filter((n) => !n.startsWith('sqlite_')), expectedTables);
  const ledger = db.prepare('SELECT migration_name, checksum FROM _prisma_migrations').all() as { checksum: string }[];
  assert.deepEqual(ledger.map((r) => r.checksum), readMigrations('sqlite').map((m) => m.checksum));
});

test('PostgreSQL: hosts booting at once serialise on the advisory lock', async () => {
  await resetPostgres();
  const config = { provider: 'postgres' as const, url: postgresUrl, poolSize: 2 };
  const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(config)));
  assert.deepEqual(runs.flat().sort(), readMigrations('postgres').map((m) => m.name).sort());
  assert.deepEqual(await migrate(config), []);

  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
    assert.deepEqual(rows.map((r) => r.tablename), expectedTables);
  } finally {
    await client.end();
  }
});
