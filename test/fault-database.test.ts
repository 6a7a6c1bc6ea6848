// Fault: the database unreachable for a few seconds. Requests that need it get a clear
// 503 (JSON for the API, a page for browsers), cached images are still served, and the
// same process serves again once the database is back, without a restart.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Prisma } from '../src/db/generated/postgres/index.js';
import { DATABASE_UNAVAILABLE_MESSAGE, databaseUnavailable } from '../src/http/unavailable.js';
import { AppError } from '../src/http/app-error.js';
import { createDb } from '../src/db/database.js';
import { CONNECT_TIMEOUT_MS } from '../src/db/pg-pool.js';
import { migrate } from '../src/db/migrate.js';
import { buildTestApp, objectFiles, postgresUrl, resetPostgres } from './helpers/app.js';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

const clientVersion = '6.19.3';
const known = (code: string, meta: Record<string, unknown> = {}) =>
  new Prisma.PrismaClientKnownRequestError(`\nInvalid \`prisma.image.findMany()\` invocation:\n\nfailure ${code}`, { code, clientVersion, meta });
const adapterError = (cause: Record<string, unknown>) => Object.assign(new Error(cause.kind as string), { name: 'DriverAdapterError', cause });
/** What Prisma rethrows when pg's own error has no adapter mapping: the error itself, with a clientVersion. */
const rethrown = (error: Error) => Object.assign(error, { clientVersion });

describe('recognising an unreachable database', () => {
  test('connection failures in every shape Prisma and pg produce', () => {
    const unavailable: [string, unknown][] = [
      ['initialization', new Prisma.PrismaClientInitializationError("Can't reach database server at 127.0.0.1:5432", clientVersion, 'P1001')],
      ['P1001', known('P1001', { driverAdapterError: adapterError({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 }) })],
      ['P1002', known('P1002')],
      ['P1008', known('P1008')],
      ['P1017', known('P1017', { driverAdapterError: adapterError({ kind: 'ConnectionClosed' }) })],
      ['P2024', known('P2024')],
      ['57P01', rethrown(adapterError({ kind: 'postgres', code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' }))],
      ['08006', rethrown(adapterError({ kind: 'postgres', code: '08006', severity: 'FATAL', message: 'connection failure' }))],
      ['pg terminated', rethrown(new Error('Connection terminated unexpectedly'))],
      ['pg connect timeout', rethrown(new Error('timeout exceeded when trying to connect'))],
      ['pg closed client', rethrown(new Error('Client was closed and is not queryable'))],
      // A query that got no answer by its deadline (a host that silently drops packets).
      ['pg query read timeout', rethrown(new Error('Query read timeout'))],
      ['ECONNREFUSED', rethrown(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 }))],
      ['raw 57P01', rethrown(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }))],
    ];
    for (const [name, error] of unavailable) assert.ok(databaseUnavailable(error), name);
    assert.equal(databaseUnavailable(known('P1001'))?.reason, 'prisma P1001');
  });

  test('everything else stays what it is', () => {
    const others: [string, unknown][] = [
      ['unique violation', known('P2002')],
      ['record not found', known('P2025')],
      ['unmapped postgres error', rethrown(adapterError({ kind: 'postgres', code: '42601', severity: 'ERROR', message: 'syntax error' }))],
      ['an app error', new AppError(409, 'Connection terminated unexpectedly')],
      ['a plain error', new Error('injected: database lost before the row commit')],
      ['the same words outside the database', new Error('Connection terminated unexpectedly')],
      // An S3 or cache-node client that saw a refused connection is not the database.
      ['another service refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED', syscall: 'connect' })],
      ['not an error', 'P1001'],
      ['nothing', undefined],
    ];
    for (const [name, error] of others) assert.equal(databaseUnavailable(error), undefined, name);
  });
});

const outageBody = { success: 'false', error: { code: 503, message: DATABASE_UNAVAILABLE_MESSAGE } };

function assertOutage(res: LightMyRequestResponse, what: string): void {
  assert.equal(res.statusCode, 503, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.deepEqual(res.json(), outageBody, what);
  assert.equal(res.headers['retry-after'], '5', what);
}

/** One round of everything a user may do; returns what each call answered. */
async function round(app: FastifyInstance, seed: number) {
  const [listKeys, upload, coldKey, coldImage, keysPage, hotImage, hotKey, numNodes] = await Promise.all([
    app.inject({ method: 'POST', url: '/api/list_keys' }),
    app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(`during-${seed}`, pngVariant(100 + seed)) }),
    app.inject({ method: 'POST', url: '/api/key/cold' }),
    app.inject('/image/cold'),
    app.inject({ url: '/keys', headers: { accept: 'text/html' } }),
    app.inject('/image/hot'),
    app.inject({ method: 'POST', url: '/api/key/hot' }),
    app.inject({ method: 'POST', url: '/api/getNumNodes' }),
  ]);
  return { listKeys, upload, coldKey, coldImage, keysPage, hotImage, hotKey, numNodes };
}
type Round = Awaited<ReturnType<typeof round>>;

/** A proxy in front of the test PostgreSQL, closed after the test, and the URL that goes through it. */
async function proxiedPostgres(t: TestContext) {
  const target = new URL(postgresUrl);
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
  t.after(() => proxy.close()); // registered first, so it runs first: the app also closes while the database is away
  const url = new URL(postgresUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}

/** Stores "hot" (then looked up, so cached) and "cold" (not cached). */
async function hotAndCold(app: FastifyInstance): Promise<{ hot: Buffer; cold: Buffer }> {
  const hot = pngVariant(1);
  const cold = pngVariant(2);
  for (const [key, bytes] of [['hot', hot], ['cold', cold]] as const) {
    assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, bytes) })).statusCode, 200);
  }
  assert.equal((await app.inject('/image/hot')).statusCode, 200);
  return { hot, cold };
}

/** During an outage: what needs the database answers 503 (API shape, or a page that names no driver detail); cache hits are served. */
function assertOutageRound(r: Round, hot: Buffer): void {
  assertOutage(r.listKeys, 'list_keys');
  assertOutage(r.upload, 'upload');
  assertOutage(r.coldKey, 'api/key of an uncached key');
  assertOutage(r.coldImage, '/image of an uncached key');
  assert.equal(r.keysPage.statusCode, 503, r.keysPage.body.slice(0, 300));
  assert.match(String(r.keysPage.headers['content-type']), /^text\/html/);
  assert.ok(r.keysPage.body.includes(DATABASE_UNAVAILABLE_MESSAGE), 'the page says what happened');
  assert.doesNotMatch(r.keysPage.body, /prisma|P1001|ECONNREFUSED|postgres|127\.0\.0\.1/i, 'and nothing of the driver');
  // The cache hit path needs no database.
  assert.equal(r.hotImage.statusCode, 200);
  assert.ok(r.hotImage.rawPayload.equals(hot));
  assert.equal(r.hotKey.json().content, hot.toString('base64'));
  assert.deepEqual(r.numNodes.json(), { success: 'true', numNodes: 1 });
}

/** After the outage: the same round is served in full. */
function assertServedRound(after: Round, cold: Buffer): void {
  assert.equal(after.listKeys.statusCode, 200, after.listKeys.body);
  assert.equal(after.upload.statusCode, 200, after.upload.body);
  assert.equal(after.coldKey.json().content, cold.toString('base64'));
  assert.ok(after.coldImage.rawPayload.equals(cold));
  assert.equal(after.keysPage.statusCode, 200);
}

/** Settles with what `promise` gave, or 'still waiting' after `ms`. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then((v) => ({ value: v }), (error: Error) => ({ error })), sleep(ms).then(() => 'still waiting' as const)]);

/**
 * A transaction that has run one query (its BEGIN went through) and then waits for
 * `proceed()` before its second: the moment a test breaks the connection under it.
 */
async function heldTransaction(db: ReturnType<typeof createDb>, options?: { timeout: number }) {
  let proceed!: () => void;
  const gate = new Promise<void>((resolve) => (proceed = resolve));
  let began!: () => void;
  const begun = new Promise<void>((resolve) => (began = resolve));
  const transaction = db.$transaction(async (tx) => {
    await tx.image.count();
    began();
    await gate;
    return tx.image.count();
  }, options);
  await begun;
  return { transaction, proceed };
}

test('a transaction whose connection dies gives its pool slot back', { timeout: 30_000 }, async (t) => {
  await resetPostgres();
  const { proxy, url } = await proxiedPostgres(t);
  const database = { provider: 'postgres' as const, url, poolSize: 1 };
  await migrate(database);
  const db = createDb(database);
  t.after(() => db.$disconnect());
  for (let attempt = 0; attempt < 3; attempt++) {
    // A transaction is open when the connection is cut under it.
    const { transaction, proceed } = await heldTransaction(db);
    await proxy.cut();
    proceed();
    const failed = await within(transaction, 5000);
    assert.ok(typeof failed === 'object' && 'error' in failed, `the transaction failed: ${JSON.stringify(failed)}`);
    assert.ok(databaseUnavailable(failed.error), `recognised as an outage: ${failed.error.message}`);
    await proxy.restore();
    // With one connection in the pool, a slot lost to the dead transaction would make this wait for ever.
    const next = await within(db.image.count(), 5000);
    assert.deepEqual(next, { value: 0 }, `attempt ${attempt}: the pool still has its connection`);
  }
});

test('PostgreSQL unreachable for 3 s: 503s with the API shape and a page, cache hits still served, recovery without restart', { timeout: 60_000 }, async (t) => {
  const { proxy, url } = await proxiedPostgres(t);
  const { app, config } = await buildTestApp(t, {
    database: 'postgres',
    env: { DATABASE_URL: url, EMC_DB_POOL_SIZE: '4', EMC_POOL_SYNC_MS: '100', EMC_STATS_INTERVAL_S: '0.2' },
  });

  const { hot, cold } = await hotAndCold(app);
  const objectsBefore = await objectFiles(config);

  await proxy.cut();
  const cutAt = Date.now();
  let rounds = 0;
  while (Date.now() - cutAt < 3000 && rounds < 100) {
    assertOutageRound(await round(app, rounds++), hot);
    await sleep(100);
  }
  assert.ok(rounds >= 5, `only ${rounds} rounds in the outage`);
  assert.deepEqual(await objectFiles(config), objectsBefore, 'the failed uploads left no object behind');

  // The database comes back: the same app serves again; pg's pool replaced the dead connections.
  const acceptedBefore = proxy.accepted();
  await proxy.restore();
  assertServedRound(await round(app, 1000), cold);
  assert.ok(proxy.accepted() > acceptedBefore, 'new connections were opened');
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, ['cold', 'during-1000', 'hot']);
});

/** The query deadline of the tests below (production: pg-pool.ts's QUERY_TIMEOUT_MS), and their connect timeout. */
const deadline = { queryTimeoutMs: 1000, connectTimeoutMs: 1000 };
const DEADLINE_MS = deadline.queryTimeoutMs;

test('a query that gets no answer fails at its deadline, and its dead connection leaves the pool', { timeout: 30_000 }, async (t) => {
  await resetPostgres();
  const { proxy, url } = await proxiedPostgres(t);
  const database = { provider: 'postgres' as const, url, poolSize: 1 };
  await migrate(database);
  const db = createDb(database, deadline);
  t.after(() => db.$disconnect());
  for (let attempt = 0; attempt < 3; attempt++) {
    // A transaction is open (its BEGIN went through) when the network starts dropping
    // everything; its ROLLBACK must not wait behind the lost answer, nor keep the slot.
    const { transaction, proceed } = await heldTransaction(db, { timeout: 10 * DEADLINE_MS });
    proxy.stall();
    let started = Date.now();
    proceed();
    const failed = await within(transaction, 5 * DEADLINE_MS);
    const took = Date.now() - started;
    assert.ok(typeof failed === 'object' && 'error' in failed, `the transaction failed: ${JSON.stringify(failed)}`);
    assert.ok(databaseUnavailable(failed.error), `recognised as an outage: ${failed.error.message}`);
    assert.ok(took >= DEADLINE_MS - 50 && took < 1.5 * DEADLINE_MS, `the transaction failed at its deadline: ${took} ms`);

    // Outside a transaction too (the pool's own query path).
    started = Date.now();
    const plain = await within(db.image.count(), 5 * DEADLINE_MS);
    assert.ok(typeof plain === 'object' && 'error' in plain, `the query failed: ${JSON.stringify(plain)}`);
    assert.ok(databaseUnavailable(plain.error), `recognised as an outage: ${plain.error.message}`);
    assert.ok(Date.now() - started < 1.5 * DEADLINE_MS, `the query failed by its deadline: ${Date.now() - started} ms`);

    // The network is back (the old connections stay dead, as after a failover). With one
    // connection in the pool, a dead one kept (or a slot lost) would fail or hang this.
    await proxy.restore();
    started = Date.now();
    const next = await within(db.image.count(), 5 * DEADLINE_MS);
    assert.deepEqual(next, { value: 0 }, `attempt ${attempt}: the pool has a live connection`);
    assert.ok(Date.now() - started < DEADLINE_MS / 2, `attempt ${attempt}: answered at once (${Date.now() - started} ms)`);
  }
});

test('PostgreSQL silently dropping packets: 503s by the query deadline, cache hits still served, recovery without restart', { timeout: 60_000 }, async (t) => {
  const { proxy, url } = await proxiedPostgres(t);
  const poolSize = 4;
  const { app } = await buildTestApp(t, {
    database: 'postgres',
    env: { DATABASE_URL: url, EMC_DB_POOL_SIZE: String(poolSize), EMC_POOL_SYNC_MS: '100', EMC_STATS_INTERVAL_S: '0.2' },
    overrides: (c) => ({ db: createDb(c.database, deadline) }),
  });

  const { hot, cold } = await hotAndCold(app);

  // Every pooled connection is open and idle: without a deadline, the first query on
  // each would wait for ever. Nothing is refused or reset, so only the deadline helps.
  proxy.stall();
  const stallAt = Date.now();
  const roundTimes: number[] = [];
  while (Date.now() - stallAt < 4 * DEADLINE_MS && roundTimes.length < 20) {
    const started = Date.now();
    const r = await round(app, roundTimes.length);
    roundTimes.push(Date.now() - started);
    assertOutageRound(r, hot);
    await sleep(100);
  }
  t.diagnostic(`rounds during the stall took ${roundTimes.join(', ')} ms (query deadline ${DEADLINE_MS} ms)`);
  assert.ok(roundTimes.length >= 2, `only ${roundTimes.length} rounds in the stall`);
  // The first round met open connections: it ended at the deadline, not at a refusal.
  assert.ok(roundTimes[0] >= DEADLINE_MS - 50, `the first round waited for the deadline: ${roundTimes[0]} ms`);
  // A request waits at most for a free slot, then a connection or an answer: each bounded.
  for (const ms of roundTimes) assert.ok(ms < 3 * DEADLINE_MS, `every request answered in time: ${roundTimes.join(', ')} ms`);

  // The network is back; connections opened before or during the stall stay dead (as
  // after a failover). The same app serves again once it has given up on them.
  await proxy.restore();
  const restoredAt = Date.now();
  while ((await app.inject({ method: 'POST', url: '/api/list_keys' })).statusCode !== 200) {
    assert.ok(Date.now() - restoredAt < 5 * DEADLINE_MS, 'the app recovers');
    await sleep(50);
  }
  t.diagnostic(`serving again ${Date.now() - restoredAt} ms after the network came back`);
  assertServedRound(await round(app, 1000), cold);

  // No slot went to a dead connection: more concurrent queries than the pool holds all
  // get through, well inside one deadline.
  const burstAt = Date.now();
  const burst = await Promise.all(Array.from({ length: 3 * poolSize }, () => app.inject({ method: 'POST', url: '/api/list_keys' })));
  for (const res of burst) assert.deepEqual(res.json().keys, ['cold', 'during-1000', 'hot']);
  assert.ok(Date.now() - burstAt < DEADLINE_MS, `the burst took ${Date.now() - burstAt} ms`);
});

test('migrations against a host that answers nothing fail at the connect deadline instead of hanging the start', { timeout: 30_000 }, async (t) => {
  const { proxy, url } = await proxiedPostgres(t);
  proxy.stall();
  const started = Date.now();
  const outcome = await within(migrate({ provider: 'postgres', url, poolSize: 1 }), 3 * CONNECT_TIMEOUT_MS);
  const took = Date.now() - started;
  assert.ok(typeof outcome === 'object' && 'error' in outcome, `the start failed: ${JSON.stringify(outcome)}`);
  assert.ok(took >= CONNECT_TIMEOUT_MS - 100 && took < 2 * CONNECT_TIMEOUT_MS, `at the connect deadline: ${took} ms`);
});

test('a look-up whose database connection is ended under its query reads again instead of answering 503', async (t) => {
  const { app } = await buildTestApp(t);
  const bytes = pngVariant(7);
  assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('ended', bytes) })).statusCode, 200);
  // What pg_terminate_backend (or an RDS failover) does to a query in flight, in the shape Prisma rethrows it.
  const image = app.services.db.image;
  const findUnique = image.findUnique.bind(image);
  let ended = 0;
  image.findUnique = ((args: { where: { key: string } }) => {
    if (ended++ === 0) throw rethrown(adapterError({ kind: 'postgres', code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' }));
    return findUnique(args);
  }) as unknown as typeof image.findUnique;
  const res = await app.inject('/image/ended');
  assert.equal(res.statusCode, 200);
  assert.ok(res.rawPayload.equals(bytes));
  assert.equal(ended, 2, 'read twice: the ended one and the retry');

  // A database that cannot be reached at all is not read twice: the look-up fails at once with a 503.
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('unreachable', bytes) });
  ended = 0;
  image.findUnique = (() => {
    ended++;
    throw rethrown(new Error('timeout exceeded when trying to connect'));
  }) as unknown as typeof image.findUnique;
  assert.equal((await app.inject('/image/unreachable')).statusCode, 503);
  assert.equal(ended, 1);
});
