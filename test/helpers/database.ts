// Database helpers that do not load the app, so storage-level tests stay independent of it.
import pg from 'pg';

export type TestDatabase = 'sqlite' | 'postgres';

// Tests may read the environment; the app never does.
export const postgresUrl = process.env.EMC_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const databases: TestDatabase[] = ['sqlite', 'postgres'];
/** The database of tests that name none: `EMC_TEST_DATABASE=postgres` reruns them on PostgreSQL. */
export const defaultDatabase: TestDatabase = process.env.EMC_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

/** Drops every table, so each test starts from the migrations. */
export async function resetPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  } finally {
    await client.end();
  }
}
