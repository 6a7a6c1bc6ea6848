// The four seed scenarios of SPEC §5 against the real scaler loop (1 s window)
// and the `process` provider: every node is a real cache-role child process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildTestApp } from './helpers/app.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

const env = {
  EMC_PROVIDER: 'process',
  // Starting seven cache processes on a busy machine may take longer than the default wait.
  EMC_RESIZE_WAIT_S: '55',
  EMC_SCALER_INTERVAL_S: '1',
  EMC_STATS_INTERVAL_S: '0.2',
  EMC_POOL_SYNC_MS: '200',
  EMC_CACHE_TIMEOUT_MS: '2000',
};

const numNodes = async (app: FastifyInstance) => (await app.inject({ method: 'POST', url: '/api/getNumNodes' })).json().numNodes as number;
const configure = async (app: FastifyInstance, query: string) => {
  const res = await app.inject({ method: 'POST', url: `/api/configure_cache?${query}` });
  assert.equal(res.statusCode, 200, res.body);
};

/**
 * Keeps looking keys up through the API until stopped (bounded by `untilMs`), three at a time: with 1 s
 * windows, one look-up slowed past a second on a busy machine would otherwise leave a window idle.
 */
function lookUps(app: FastifyInstance, keys: () => string, untilMs: number) {
  let running = true;
  const end = Date.now() + untilMs;
  const loop = async () => {
    while (running && Date.now() < end) {
      await app.inject({ method: 'POST', url: `/api/key/${keys()}` });
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const done = Promise.all([loop(), loop(), loop()]);
  return async () => {
    running = false;
    await done;
  };
}

async function waitForNodes(app: FastifyInstance, expected: number, timeoutMs: number, seen: number[]) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const n = await numNodes(app);
    if (seen.at(-1) !== n) seen.push(n);
    if (n === expected) return;
    if (Date.now() > end) assert.fail(`expected ${expected} nodes, the pool went ${seen.join(' → ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const scalerResizes = async (app: FastifyInstance) =>
  (await app.services.db.scalingEvent.findMany({ where: { actor: 'scaler' }, orderBy: { id: 'asc' } }))
    .filter((e) => e.fromNodes !== e.toNodes)
    .map((e) => `${e.fromNodes}→${e.toNodes}`);

describe('auto-scaler end to end (process provider, 1 s windows)', { timeout: 240_000 }, () => {
  test('(1) a fresh start has 1 node; (2) only misses: 1→2→4→8 and stays at 8', async (t) => {
    const { app } = await buildTestApp(t, { env });
    await app.ready();
    assert.equal(await numNodes(app), 1);
    await configure(app, 'mode=auto&maxMiss=20&minMiss=10&expRatio=2.0&shrinkRatio=0.5');
    let i = 0;
    const stop = lookUps(app, () => `never-uploaded-${i++}`, 120_000);
    const seen = [1];
    await waitForNodes(app, 8, 100_000, seen);
    await new Promise((r) => setTimeout(r, 3000));
    await stop();
    assert.equal(await numNodes(app), 8, 'stays at 8');
    assert.deepEqual(await scalerResizes(app), ['1→2', '2→4', '4→8']);
    const kept = await app.services.db.scalingEvent.findMany({ where: { actor: 'scaler', fromNodes: 8, toNodes: 8 } });
    assert.ok(kept.some((e) => /maximum of 8/.test(e.reason)), 'the no-change decisions at the bound say why');
    assert.ok(kept.every((e) => e.missRate !== null && e.maxMiss === 0.2 && e.minMiss === 0.1));
    assert.equal((await app.services.leader!.provider()!.list()).length, 8, 'eight cache processes run');
  });

  test('(3) max 90% / min 65%, 8 nodes and no look-ups: 8→4→2→1 and stays at 1', async (t) => {
    const { app } = await buildTestApp(t, { env });
    await app.ready();
    await configure(app, 'mode=manual&numNodes=8');
    await configure(app, 'mode=auto&maxMiss=0.9&minMiss=0.65&expRatio=2&shrinkRatio=0.5');
    const seen = [8];
    await waitForNodes(app, 1, 60_000, seen);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await numNodes(app), 1, 'stays at 1');
    assert.deepEqual((await scalerResizes(app)), ['8→4', '4→2', '2→1']);
    assert.equal((await app.services.leader!.provider()!.list()).length, 1, 'the stopped processes are gone');
  });

  test('(4) max 85% / min 15% with about half the look-ups missing: no change', async (t) => {
    const { app } = await buildTestApp(t, { env });
    await app.ready();
    await configure(app, 'mode=manual&numNodes=2');
    await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('present', images.png) });
    let i = 0;
    // Look-ups run before and after the scaler decides: every window it reads has them, none is idle.
    const stop = lookUps(app, () => (i++ % 2 === 0 ? 'present' : `absent-${i}`), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    await configure(app, 'mode=auto&maxMiss=85&minMiss=15&expRatio=2&shrinkRatio=0.5');
    await new Promise((r) => setTimeout(r, 5000));
    await configure(app, 'mode=manual');
    await stop();
    assert.equal(await numNodes(app), 2);
    assert.deepEqual(await scalerResizes(app), []);
    const decisions = await app.services.db.scalingEvent.findMany({ where: { actor: 'scaler' } });
    assert.ok(decisions.length >= 2, `${decisions.length} decisions recorded`);
    for (const d of decisions.filter((e) => (e.lookups ?? 0) > 20)) {
      assert.ok(d.missRate! > 0.3 && d.missRate! < 0.7, `miss rate ${d.missRate}`);
    }
  });

  test('switching to manual mode stops automatic decisions at once', async (t) => {
    const { app } = await buildTestApp(t, { env });
    await app.ready();
    await configure(app, 'mode=auto&maxMiss=20&minMiss=10&expRatio=2&shrinkRatio=0.5');
    await configure(app, 'mode=manual');
    const before = await app.services.db.scalingEvent.count({ where: { actor: 'scaler' } });
    let i = 0;
    const stop = lookUps(app, () => `never-${i++}`, 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    await stop();
    assert.equal(await app.services.db.scalingEvent.count({ where: { actor: 'scaler' } }), before);
    assert.equal(await numNodes(app), 1);
  });
});
