// A fresh PostgreSQL database per scenario group, and the harness's own view into it
// (which node rows exist, which scaling events were recorded, who holds the lease).
import pg from 'pg';
import { postgresUrl } from '../helpers/database.js';

export type FleetDatabase = {
  readonly url: string;
  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>;
  /** pg_terminate_backend on every connection to this database (the harness's own too): what an RDS failover does. */
  terminateAll(): Promise<number>;
  close(): Promise<void>;
};

function urlOf(database: string): string {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf('postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops and recreates `name` (it must be this harness's own: emc_fleet_*). */
export async function createFleetDatabase(name: string): Promise<FleetDatabase> {
  if (!/^emc_fleet_\w+$/.test(name)) throw new Error(`not a fleet database name: ${name}`);
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const url = urlOf(name);
  // The harness reconnects after terminateAll like any client would: one short-lived client per query.
  const pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 1000 });
  pool.on('error', () => {
    // an idle connection terminated by terminateAll: the next query opens a new one
  });
  return {
    url,
    async query(sql, values) {
      return (await pool.query(sql, values)).rows;
    },
    async terminateAll() {
      const rows = await admin((c) =>
        c.query(
          'SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        ),
      );
      return rows.rowCount ?? 0;
    },
    async close() {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
