// The PostgreSQL connection pool behind Prisma, hardened for a database that goes away
// for a while (a restart, a failover, a network cut) so the process recovers by itself.
import pg from 'pg';

/** How long a query waits for a connection (a new one, or a free slot) before failing. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * A pg Pool that never loses a slot to a dead connection.
 *
 * Prisma 6.19's transaction manager closes a transaction by running `COMMIT` (or
 * `ROLLBACK`) and only then handing the connection back to the pool; when that
 * statement fails because the connection died under it, the connection is never
 * released. Each outage that catches a transaction (a metrics publish, a membership
 * change) would then cost the pool one slot for good, until every query waits for
 * ever. So a checked-out connection that ends is released here, with an error (the
 * pool drops it), and the late release Prisma may still make becomes a no-op.
 *
 * A new connection that cannot be made in CONNECT_TIMEOUT_MS fails the query (the
 * web tier answers 503) instead of holding the request until TCP gives up.
 */
export function createPgPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  const checkedOut = new Set<pg.PoolClient>();
  const watched = new WeakSet<pg.PoolClient>();

  pool.on('acquire', (client) => {
    checkedOut.add(client);
    if (watched.has(client)) return;
    watched.add(client);
    client.once('end', () => {
      if (!checkedOut.has(client)) return;
      const release = client.release;
      client.release = () => undefined;
      release.call(client, new Error('the database connection ended while in use'));
    });
  });
  pool.on('release', (_err, client) => {
    checkedOut.delete(client);
  });
  return pool;
}
