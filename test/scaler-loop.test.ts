import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { DatabaseConfig } from '../src/config/config.js';
import { createDb, type Db } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import type { MetricsSink, WindowTotals } from '../src/metrics/metrics-sink.js';
import type { PoolController, ResizeRequest } from '../src/scaling/pool-controller.js';
import { createScalerLoop } from '../src/scaling/scaler-loop.js';
import type { ScalerPolicy } from '../src/scaling/scaler-policy.js';
import { loadScalerPolicy, saveScalerPolicy } from '../src/scaling/scaler-policy-store.js';
import { lastResizeAt, recordScalingEvent } from '../src/scaling/scaling-events.js';
import { createCloudWatchSink } from '../src/metrics/cloudwatch-sink.js';
import { fakeCloudWatch } from './helpers/fake-cloudwatch.js';
import { silentLog } from './helpers/pool.js';

const T0 = new Date('2026-01-01T12:00:00.000Z');
const MINUTE = 60_000;
const highMisses: ScalerPolicy = { mode: 'auto', maxMissRate: 0.2, minMissRate: 0.1, expandRatio: 2, shrinkRatio: 0.5 };

async function openDb(t: TestContext): Promise<Db> {
  const dir = await mkdtemp(join(tmpdir(), 'emc-scaler-'));
  const config: DatabaseConfig = { provider: 'sqlite', url: `file:${join(dir, 'emc.db')}`, poolSize: 1 };
  await migrate(config);
  const db = createDb(config);
  t.after(async () => {
    await db.$disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  return db;
}

function fakeMetrics() {
  const state = { reported: true, lookups: 0, misses: 0, windows: [] as [Date, Date][] };
  const sink: Pick<MetricsSink, 'totals'> = {
    async totals(from, to) {
      state.windows.push([from, to]);
      const { reported, lookups, misses } = state;
      const missRate = lookups > 0 ? misses / lookups : 0;
      return { reported, lookups, misses, hits: lookups - misses, puts: 0, requests: lookups, missRate, hitRate: lookups > 0 ? 1 - missRate : 0 } satisfies WindowTotals;
    },
  };
  return { state, sink };
}

function fakeController(nodes: number) {
  const state = { nodes, calls: [] as { target: number; request: ResizeRequest }[], failWith: undefined as Error | undefined };
  const controller: PoolController = {
    async size() {
      return state.nodes;
    },
    async resize(target, request) {
      state.calls.push({ target, request });
      if (state.failWith) throw state.failWith;
      const from = state.nodes;
      state.nodes = target;
      return { from, to: target, message: `resized ${from} → ${target}` };
    },
  };
  return { state, controller };
}

async function setup(t: TestContext, { nodes = 1, policy = highMisses }: { nodes?: number; policy?: ScalerPolicy } = {}) {
  const db = await openDb(t);
  await saveScalerPolicy(db, policy);
  const metrics = fakeMetrics();
  const pool = fakeController(nodes);
  const clock = { now: new Date(T0.getTime() + 10 * MINUTE) };
  const loop = createScalerLoop({
    db,
    metrics: metrics.sink,
    controller: pool.controller,
    minNodes: 1,
    maxNodes: 8,
    intervalMs: MINUTE,
    now: () => clock.now,
    log: silentLog,
  });
  t.after(() => loop.stop());
  const advance = () => (clock.now = new Date(clock.now.getTime() + MINUTE));
  return { db, metrics: metrics.state, pool: pool.state, clock, loop, advance };
}

describe('scaler loop', () => {
  it('grows on a high miss rate through the controller and records nothing itself', async (t) => {
    const { db, metrics, pool, loop, clock } = await setup(t);
    metrics.lookups = 1234;
    metrics.misses = 1234;
    const result = await loop.tick();
    assert.equal(result.status, 'resized');
    assert.deepEqual(metrics.windows, [[new Date(clock.now.getTime() - MINUTE), clock.now]]);
    assert.deepEqual(pool.calls, [
      {
        target: 2,
        request: { actor: 'scaler', reason: 'miss rate 100.0% above 20.0% over 1,234 look-ups: grow 1 → 2', missRate: 1, lookups: 1234, maxMiss: 0.2, minMiss: 0.1 },
      },
    ]);
    assert.equal(await db.scalingEvent.count(), 0);
  });

  it('records a no-change decision with its reason', async (t) => {
    const { db, metrics, pool, loop, clock } = await setup(t, { nodes: 3 });
    metrics.lookups = 100;
    metrics.misses = 15;
    assert.equal((await loop.tick()).status, 'kept');
    assert.equal(pool.calls.length, 0);
    const events = await db.scalingEvent.findMany();
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...events[0], id: undefined },
      { id: undefined, at: clock.now, actor: 'scaler', fromNodes: 3, toNodes: 3, missRate: 0.15, lookups: 100, maxMiss: 0.2, minMiss: 0.1, reason: 'miss rate 15.0% within 10.0%–20.0% over 100 look-ups: keep 3 nodes' },
    );
    // A no-change event is not a resize, so it never delays the next decision.
    assert.equal(await lastResizeAt(db, 'cache'), undefined);
  });

  it('waits for a full window after a resize', async (t) => {
    const { db, metrics, pool, loop, clock, advance } = await setup(t, { nodes: 2 });
    metrics.lookups = metrics.misses = 50;
    await recordScalingEvent(db, { pool: 'cache', actor: 'operator', fromNodes: 1, toNodes: 2, reason: 'manual +1' }, new Date(clock.now.getTime() - 20_000));
    const result = await loop.tick();
    assert.equal(result.status, 'kept');
    assert.equal(pool.calls.length, 0);
    const [event] = await db.scalingEvent.findMany({ where: { actor: 'scaler' } });
    assert.match(event!.reason, /full window/);

    advance();
    assert.equal((await loop.tick()).status, 'resized');
    assert.deepEqual(pool.calls.map((c) => c.target), [4]);
  });

  it('makes no decision and records nothing in manual mode', async (t) => {
    const { db, metrics, pool, loop } = await setup(t, { nodes: 2, policy: { ...highMisses, mode: 'manual' } });
    metrics.lookups = metrics.misses = 50;
    assert.deepEqual(await loop.tick(), { status: 'manual' });
    assert.deepEqual(metrics.windows, []);
    assert.equal(pool.calls.length, 0);
    assert.equal(await db.scalingEvent.count(), 0);
  });

  it('does not resize when manual mode is switched on while it decides', async (t) => {
    const db = await openDb(t);
    await saveScalerPolicy(db, highMisses);
    const metrics = fakeMetrics();
    metrics.state.lookups = metrics.state.misses = 10;
    const pool = fakeController(1);
    const controller: PoolController = {
      ...pool.controller,
      async size() {
        await saveScalerPolicy(db, { ...highMisses, mode: 'manual' });
        return pool.state.nodes;
      },
    };
    const loop = createScalerLoop({ db, metrics: metrics.sink, controller, minNodes: 1, maxNodes: 8, intervalMs: MINUTE, log: silentLog });
    assert.deepEqual(await loop.tick(), { status: 'manual' });
    assert.equal(pool.state.calls.length, 0);
    assert.equal(await db.scalingEvent.count(), 0);
  });

  it('reads the policy again on every tick', async (t) => {
    const { db, metrics, pool, loop, advance } = await setup(t, { nodes: 2, policy: { ...highMisses, mode: 'manual' } });
    metrics.lookups = 100;
    metrics.misses = 50;
    assert.equal((await loop.tick()).status, 'manual');

    await saveScalerPolicy(db, { ...(await loadScalerPolicy(db)), mode: 'auto' });
    advance();
    assert.equal((await loop.tick()).status, 'resized');
    assert.equal(pool.nodes, 4);

    await saveScalerPolicy(db, { ...highMisses, maxMissRate: 0.9, minMissRate: 0.6 });
    advance();
    assert.equal((await loop.tick()).status, 'resized');
    assert.equal(pool.nodes, 2);

    await saveScalerPolicy(db, { ...highMisses, mode: 'manual' });
    advance();
    assert.equal((await loop.tick()).status, 'manual');
    assert.equal(pool.calls.length, 2);
  });

  it('keeps going after the controller fails', async (t) => {
    const { metrics, pool, loop, advance } = await setup(t);
    metrics.lookups = metrics.misses = 10;
    pool.failWith = new Error('resize lock is held');
    const failed = await loop.tick();
    assert.equal(failed.status, 'failed');
    pool.failWith = undefined;
    advance();
    assert.equal((await loop.tick()).status, 'resized');
    assert.equal(pool.nodes, 2);
  });

  it('joins a running tick instead of starting a second one', async (t) => {
    const { metrics, pool, loop } = await setup(t);
    metrics.lookups = metrics.misses = 10;
    const [a, b] = await Promise.all([loop.tick(), loop.tick()]);
    assert.equal(a, b);
    assert.equal(pool.calls.length, 1);
  });

  it('ticks on its timer until stopped', async (t) => {
    const db = await openDb(t);
    await saveScalerPolicy(db, highMisses);
    const metrics = fakeMetrics();
    metrics.state.lookups = metrics.state.misses = 10;
    const pool = fakeController(1);
    const loop = createScalerLoop({ db, metrics: metrics.sink, controller: pool.controller, minNodes: 1, maxNodes: 8, intervalMs: 20, log: silentLog });
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await loop.stop();
    const calls = pool.state.calls.length;
    assert.ok(calls >= 1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(pool.state.calls.length, calls);
  });
});

describe('scaler policy store', () => {
  it('creates the default row once and saves changes', async (t) => {
    const db = await openDb(t);
    const defaults = { mode: 'manual', maxMissRate: 0.8, minMissRate: 0.2, expandRatio: 2, shrinkRatio: 0.5 };
    assert.deepEqual(await Promise.all([loadScalerPolicy(db), loadScalerPolicy(db)]), [defaults, defaults]);
    assert.equal(await db.scalerPolicy.count(), 1);
    const saved = await saveScalerPolicy(db, { ...highMisses, expandRatio: 1.5 });
    assert.deepEqual(await loadScalerPolicy(db), saved);
    assert.equal(saved.expandRatio, 1.5);
  });
});

describe('scaler loop on CloudWatch as it answers', () => {
  it('decides on a window that ends the sink’s read lag ago, where late points have arrived', async (t) => {
    const db = await openDb(t);
    await saveScalerPolicy(db, highMisses);
    // Points become readable 45 s after they are sent: longer than the scaler's 30 s interval.
    const clock = { now: T0 };
    const fake = fakeCloudWatch({ now: () => clock.now, arrivalLagMs: 45_000 });
    t.after(() => fake.close());
    const sink = createCloudWatchSink({ cloudwatch: fake.cloudwatch, namespace: 'Emc/Test', now: () => clock.now });
    for (let s = 0; s < 300; s += 5) {
      clock.now = new Date(T0.getTime() + s * 1000);
      await sink.publish([{ nodeId: 'node-1', at: clock.now, lookups: 100, hits: 50, misses: 50, puts: 0, requests: 100, evictions: 0, rejected: 0, items: 0, bytes: 0 }]);
    }
    clock.now = new Date(T0.getTime() + 300_000);
    const pool = fakeController(1);
    const loop = createScalerLoop({ db, metrics: sink, controller: pool.controller, minNodes: 1, maxNodes: 8, intervalMs: 30_000, now: () => clock.now, log: silentLog });
    const tick = await loop.tick();
    assert.equal(tick.status, 'resized', 'a window ending now has nothing readable yet and would keep the size forever');
    assert.deepEqual(pool.state.calls.map((c) => [c.target, c.request.lookups]), [[2, 600]], 'six whole publishes of 100');
  });
});
