// One fresh database per suite on the test run's PostgreSQL server (test/runner.ts), copied
// from a template the runner migrated once.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Set by the runner for the suites: the URL of the migrated template database. */
export const TEMPLATE_URL_VARIABLE = 'EMC_TEST_TEMPLATE_DATABASE_URL';
export const TEMPLATE_DATABASE = 'emc_template';

/** Creates `name` (optionally as a copy of `template`) on the server that `adminUrl` reaches. */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const copy = template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : '';
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${copy}`);
  } finally {
    await client.end();
  }
}

/** Drops the database `url` names (refused while a connection to it is open). */
export async function dropDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** A new database copied from the run's template; returns its URL. */
export async function createSuiteDatabase(templateUrl: string): Promise<string> {
  const url = new URL(templateUrl);
  const template = url.pathname.slice(1);
  const name = `suite_${process.pid}_${randomBytes(3).toString('hex')}`;
  url.pathname = '/postgres';
  await createDatabase(url.href, name, template);
  url.pathname = `/${name}`;
  return url.href;
}
