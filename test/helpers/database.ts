// Database helpers that do not load the app, so storage-level tests stay independent of it.
import { after } from 'node:test';
import pg from 'pg';
import { createSuiteDatabase, dropDatabase, TEMPLATE_URL_VARIABLE } from '../harness/suite-database.js';

export type TestDatabase = 'sqlite' | 'postgres';

// Tests may read the environment; the app never does.
const externalUrl = process.env.EMC_TEST_DATABASE_URL || undefined;
const templateUrl = process.env[TEMPLATE_URL_VARIABLE] || undefined;
const NO_SERVER = 'no PostgreSQL for this suite: run it through `npm test -- <file>` (which starts one) or set EMC_TEST_DATABASE_URL';

/**
 * This suite's PostgreSQL database: EMC_TEST_DATABASE_URL as it is, or else a fresh copy of
 * the migrated template on the server `npm test` started (test/runner.ts).
 */
export const postgresUrl = externalUrl ?? (templateUrl ? await createSuiteDatabase(templateUrl) : 'postgres://postgres@no-test-server.invalid/none');
// Dropped when the suite ends, if nothing holds it open any more: each copy is a few MB and a
// run makes dozens. Only a saving: what is left goes with the run's server.
if (!externalUrl && templateUrl) after(() => dropDatabase(postgresUrl).catch(() => undefined));
export const databases: TestDatabase[] = ['sqlite', 'postgres'];
/** The database of tests that name none: `EMC_TEST_DATABASE=postgres` reruns them on PostgreSQL. */
export const defaultDatabase: TestDatabase = process.env.EMC_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

/** Drops every table, so each test starts from the migrations. */
export async function resetPostgres(): Promise<void> {
  if (!externalUrl && !templateUrl) throw new Error(NO_SERVER);
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  } finally {
    await client.end();
  }
}
