// Recognises "the database cannot be reached right now" among the errors a request
// may end with, so the error handler answers 503 (try again) instead of 500 (a bug).
// Errors reach us in several shapes, depending on where the connection broke:
//  - PrismaClientInitializationError (the client could not connect at all);
//  - PrismaClientKnownRequestError with a connection code (P1001 can't reach the
//    server, P1017 server closed the connection...), its meta carrying the driver
//    adapter's error;
//  - a DriverAdapterError whose cause is a PostgreSQL error Prisma has no code for
//    (57P01 the server is shutting down, class 08 connection exceptions...);
//  - pg's own plain Error ("Connection terminated unexpectedly") rethrown by Prisma
//    with a clientVersion attached, when a pooled connection dies under a query, or
//    ("Query read timeout") when a query gets no answer in time (see db/pg-pool.ts).

export const DATABASE_UNAVAILABLE_MESSAGE = 'the database is unavailable; try again shortly';

/** Prisma error codes that mean the database could not be reached or answered in time. */
const PRISMA_CODES = new Set([
  'P1001', // can't reach the database server
  'P1002', // the server was reached but timed out
  'P1008', // operation timed out (also SQLite's "database is locked")
  'P1017', // the server closed the connection
  'P2024', // timed out fetching a connection from the pool
  'P2037', // too many database connections
]);

/** Driver adapter error kinds (what P1001, P1008, P1017, P2037 are made from). */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/** PostgreSQL SQLSTATEs: class 08 (connection exception) and these. */
const POSTGRES_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '53300', // too_many_connections
]);

/** Socket errors on the way to the database. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

/** pg's plain errors (no code) for a connection that broke or never came. */
const PG_MESSAGES = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'timeout expired',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);

type Loose = { name?: unknown; code?: unknown; errorCode?: unknown; kind?: unknown; originalCode?: unknown; message?: unknown; clientVersion?: unknown; cause?: unknown; meta?: unknown };

const asObject = (value: unknown): Loose | undefined => (typeof value === 'object' && value !== null ? (value as Loose) : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The error, its causes and the driver adapter error Prisma keeps in `meta`, a bounded walk. */
function chainOf(error: unknown): Loose[] {
  const chain: Loose[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < 8) {
    const item = asObject(queue.shift());
    if (!item || chain.includes(item)) continue;
    chain.push(item);
    queue.push(item.cause, (asObject(item.meta) as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return chain;
}

/** Came out of Prisma or its driver adapter (not, say, an S3 client that also saw ECONNREFUSED). */
function fromDatabase(chain: Loose[]): boolean {
  return chain.some((e) => {
    const name = str(e.name) ?? '';
    return name.startsWith('PrismaClient') || name === 'DriverAdapterError' || typeof e.clientVersion === 'string';
  });
}

/** Why this link of the chain means "unreachable", or undefined. */
function reasonOf(e: Loose): string | undefined {
  const name = str(e.name);
  const code = str(e.code) ?? str(e.errorCode);
  if (name === 'PrismaClientInitializationError') return `${name}${code ? ` ${code}` : ''}`;
  if (code && PRISMA_CODES.has(code)) return `prisma ${code}`;
  const kind = str(e.kind);
  if (kind && ADAPTER_KINDS.has(kind)) return `driver ${kind}`;
  const sqlState = kind === 'postgres' ? code : (str(e.originalCode) ?? code);
  if (sqlState && (sqlState.startsWith('08') || POSTGRES_CODES.has(sqlState)) && /^[0-9A-Z]{5}$/.test(sqlState)) return `postgres ${sqlState}`;
  if (code && SOCKET_CODES.has(code)) return `socket ${code}`;
  const message = str(e.message);
  if (message && PG_MESSAGES.has(message)) return `pg "${message}"`;
  return undefined;
}

/**
 * Whether `error` means the database is unreachable right now (a 503), with a short
 * reason for the log; undefined for every other error, including the database's
 * answers to a bad query (a unique violation stays what it is).
 */
export function databaseUnavailable(error: unknown): { reason: string } | undefined {
  const chain = chainOf(error);
  if (!fromDatabase(chain)) return undefined;
  for (const link of chain) {
    const reason = reasonOf(link);
    if (reason) return { reason };
  }
  return undefined;
}
