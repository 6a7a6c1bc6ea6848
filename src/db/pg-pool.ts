// The PostgreSQL connection pool behind Prisma, hardened for a database that goes away
// for a while (a restart, a failover, a network cut) so the process recovers by itself.
import pg from 'pg';

/** How long a query waits for a connection (a new one, or a free slot) before failing. */
export const CONNECT_TIMEOUT_MS = 5000;

/**
 * How long a query waits for its answer on an open connection before failing. Nothing
 * in the app legitimately runs this long (the migrator, which may queue on an advisory
 * lock for as long as another host migrates, uses its own connection, not this pool).
 */
const QUERY_TIMEOUT_MS = 15_000;

/**
 * The server ends a session left idle inside a transaction this long. Prisma's interactive
 * transactions that expire under load can leave one behind (BEGIN sent, no ROLLBACK): it
 * would hold its row locks and its pool slot for ever; ended, it is released here like any
 * connection that dies in use.
 */
const IDLE_IN_TRANSACTION_MS = 2 * QUERY_TIMEOUT_MS;

/** The message of pg's error when `query_timeout` fires (pg gives it no code). */
const QUERY_READ_TIMEOUT = 'Query read timeout';

export type PgPoolTimeouts = {
  /** Defaults to CONNECT_TIMEOUT_MS; tests shorten it. */
  connectTimeoutMs?: number;
  /** Defaults to QUERY_TIMEOUT_MS; tests shorten it. */
  queryTimeoutMs?: number;
};

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
 *
 * A host that silently drops packets (a partition, a failover without a reset) leaves
 * an open connection waiting for an answer that never comes: TCP reports nothing for
 * many minutes. So every query has a deadline (QUERY_TIMEOUT_MS, pg's `query_timeout`),
 * and a connection whose query missed it is destroyed: pg only fails the query and
 * keeps the connection, whose next query (the transaction's ROLLBACK, or whoever gets
 * it from the pool) would queue behind the lost answer and miss its deadline too — and
 * a ROLLBACK that fails is exactly the never-released connection above. Destroying the
 * socket ends the connection, which the handling above turns into a release with an
 * error, or the pool's own idle handling drops.
 */
export function createPgPool(connectionString: string, max: number, timeouts: PgPoolTimeouts = {}): pg.Pool {
  const { connectTimeoutMs = CONNECT_TIMEOUT_MS, queryTimeoutMs = QUERY_TIMEOUT_MS } = timeouts;
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  });
  const checkedOut = new Set<pg.PoolClient>();
  const watched = new WeakSet<pg.PoolClient>();

  pool.on('connect', dropOnReadTimeout);
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

/**
 * Destroys the connection under any query of `client` that fails with pg's read timeout.
 * pg reports that error only to the query (its callback or its promise), so the client's
 * `query` is wrapped to see it; everything else passes through untouched.
 */
function dropOnReadTimeout(client: pg.PoolClient): void {
  const query = client.query as (...args: unknown[]) => unknown;
  const drop = (err: unknown) => {
    if (err instanceof Error && err.message === QUERY_READ_TIMEOUT) client.connection.stream.destroy();
  };
  client.query = ((...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, ...rest: unknown[]) => {
        drop(err);
        return callback(err, ...rest);
      };
    }
    const result = query.apply(client, args);
    if (typeof (result as Promise<unknown> | undefined)?.then === 'function') (result as Promise<unknown>).then(undefined, drop);
    return result;
  }) as typeof client.query;
}
