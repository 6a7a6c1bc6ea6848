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
import { cacheScaling, webScaling } from '../src/scaling/scaler-rules.js';
import type { WorkerPolicy } from '../src/scaling/worker-policy.js';
import { loadWorkerPolicy, saveWorkerPolicy } from '../src/scaling/worker-policy-store.js';
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

/** The loop deciding the cache pool alone, within 1..8 nodes, on a window as long as its interval. */
function cacheLoop({ db, metrics, controller, intervalMs, now }: { db: Db; metrics: Pick<MetricsSink, 'totals' | 'readLagMs'>; controller: PoolController; intervalMs: number; now?: () => Date }) {
  return createScalerLoop({ db, pools: [cacheScaling({ db, metrics, controller, minNodes: 1, maxNodes: 8, windowMs: intervalMs })], intervalMs, now, log: silentLog });
}

async function setup(t: TestContext, { nodes = 1, policy = highMisses }: { nodes?: number; policy?: ScalerPolicy } = {}) {
  const db = await openDb(t);
  await saveScalerPolicy(db, policy);
  const metrics = fakeMetrics();
  const pool = fakeController(nodes);
  const clock = { now: new Date(T0.getTime() + 10 * MINUTE) };
  const loop = cacheLoop({ db, metrics: metrics.sink, controller: pool.controller, intervalMs: MINUTE, now: () => clock.now });
  t.after(() => loop.stop());
  const advance = () => (clock.now = new Date(clock.now.getTime() + MINUTE));
  return { db, metrics: metrics.state, pool: pool.state, clock, loop, advance };
}

describe('scaler loop', () => {
  it('grows on a high miss rate through the controller and records nothing itself', async (t) => {
    const { db, metrics, pool, loop, clock } = await setup(t);
    metrics.lookups = 1234;
    metrics.misses = 1234;
    const result = (await loop.tick()).cache;
    assert.equal(result?.status, 'resized');
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
    assert.equal((await loop.tick()).cache?.status, 'kept');
    assert.equal(pool.calls.length, 0);
    const events = await db.scalingEvent.findMany();
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...events[0], id: undefined },
      { id: undefined, at: clock.now, pool: 'cache', actor: 'scaler', fromNodes: 3, toNodes: 3, missRate: 0.15, lookups: 100, maxMiss: 0.2, minMiss: 0.1, cpu: null, growCpu: null, shrinkCpu: null, reason: 'miss rate 15.0% within 10.0%–20.0% over 100 look-ups: keep 3 nodes' },
    );
    // A no-change event is not a resize, so it never delays the next decision.
    assert.equal(await lastResizeAt(db, 'cache'), undefined);
  });

  it('waits for a full window after a resize', async (t) => {
    const { db, metrics, pool, loop, clock, advance } = await setup(t, { nodes: 2 });
    metrics.lookups = metrics.misses = 50;
    await recordScalingEvent(db, { pool: 'cache', actor: 'operator', fromNodes: 1, toNodes: 2, reason: 'manual +1' }, new Date(clock.now.getTime() - 20_000));
    const result = (await loop.tick()).cache;
    assert.equal(result?.status, 'kept');
    assert.equal(pool.calls.length, 0);
    const [event] = await db.scalingEvent.findMany({ where: { actor: 'scaler' } });
    assert.match(event!.reason, /full window/);

    advance();
    assert.equal((await loop.tick()).cache?.status, 'resized');
    assert.deepEqual(pool.calls.map((c) => c.target), [4]);
  });

  it('makes no decision and records nothing in manual mode', async (t) => {
    const { db, metrics, pool, loop } = await setup(t, { nodes: 2, policy: { ...highMisses, mode: 'manual' } });
    metrics.lookups = metrics.misses = 50;
    assert.deepEqual(await loop.tick(), { cache: { status: 'manual' } });
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
    const loop = cacheLoop({ db, metrics: metrics.sink, controller, intervalMs: MINUTE });
    assert.deepEqual(await loop.tick(), { cache: { status: 'manual' } });
    assert.equal(pool.state.calls.length, 0);
    assert.equal(await db.scalingEvent.count(), 0);
  });

  it('reads the policy again on every tick', async (t) => {
    const { db, metrics, pool, loop, advance } = await setup(t, { nodes: 2, policy: { ...highMisses, mode: 'manual' } });
    metrics.lookups = 100;
    metrics.misses = 50;
    assert.equal((await loop.tick()).cache?.status, 'manual');

    await saveScalerPolicy(db, { ...(await loadScalerPolicy(db)), mode: 'auto' });
    advance();
    assert.equal((await loop.tick()).cache?.status, 'resized');
    assert.equal(pool.nodes, 4);

    await saveScalerPolicy(db, { ...highMisses, maxMissRate: 0.9, minMissRate: 0.6 });
    advance();
    assert.equal((await loop.tick()).cache?.status, 'resized');
    assert.equal(pool.nodes, 2);

    await saveScalerPolicy(db, { ...highMisses, mode: 'manual' });
    advance();
    assert.equal((await loop.tick()).cache?.status, 'manual');
    assert.equal(pool.calls.length, 2);
  });

  it('keeps going after the controller fails', async (t) => {
    const { metrics, pool, loop, advance } = await setup(t);
    metrics.lookups = metrics.misses = 10;
    pool.failWith = new Error('resize lock is held');
    const failed = (await loop.tick()).cache;
    assert.equal(failed?.status, 'failed');
    pool.failWith = undefined;
    advance();
    assert.equal((await loop.tick()).cache?.status, 'resized');
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
    const loop = cacheLoop({ db, metrics: metrics.sink, controller: pool.controller, intervalMs: 20 });
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
    const loop = cacheLoop({ db, metrics: sink, controller: pool.controller, intervalMs: 30_000, now: () => clock.now });
    const tick = (await loop.tick()).cache;
    assert.equal(tick?.status, 'resized', 'a window ending now has nothing readable yet and would keep the size forever');
    assert.deepEqual(pool.state.calls.map((c) => [c.target, c.request.lookups]), [[2, 600]], 'six whole publishes of 100');
  });
});

describe('scaler loop, both pools', () => {
  const hot: WorkerPolicy = { mode: 'auto', growCpu: 0.7, shrinkCpu: 0.2, growRatio: 1.5, shrinkRatio: 0.5, cooldownS: 300 };

  async function setupBoth(t: TestContext, { workers = 2, nodes = 2, policy = hot }: { workers?: number; nodes?: number; policy?: WorkerPolicy } = {}) {
    const db = await openDb(t);
    await saveScalerPolicy(db, highMisses);
    await saveWorkerPolicy(db, policy);
    const cache = fakeMetrics();
    const cpu = { reported: true, cpu: 0.5, windows: [] as [Date, Date][] };
    const metrics: Pick<MetricsSink, 'totals' | 'workerWindow'> = {
      totals: cache.sink.totals,
      async workerWindow(from, to) {
        cpu.windows.push([from, to]);
        return { reported: cpu.reported, cpu: cpu.cpu, workers: cpu.reported ? workers : 0 };
      },
    };
    const nodePool = fakeController(nodes);
    const web = fakeController(workers);
    const clock = { now: new Date(T0.getTime() + 60 * MINUTE) };
    const loop = createScalerLoop({
      db,
      pools: [
        cacheScaling({ db, metrics, controller: nodePool.controller, minNodes: 1, maxNodes: 8, windowMs: MINUTE }),
        webScaling({ db, metrics, controller: web.controller, minWorkers: 1, maxWorkers: 8, cpuWindowMs: 2 * MINUTE }),
      ],
      intervalMs: MINUTE,
      now: () => clock.now,
      log: silentLog,
    });
    t.after(() => loop.stop());
    const advance = (ms = MINUTE) => (clock.now = new Date(clock.now.getTime() + ms));
    return { db, cache: cache.state, cpu, nodePool: nodePool.state, web: web.state, clock, loop, advance };
  }

  it('grows the web pool on CPU over the last two minutes, and decides the cache pool in the same tick', async (t) => {
    const { cpu, cache, web, nodePool, loop, clock } = await setupBoth(t);
    cpu.cpu = 0.91;
    cache.lookups = 100;
    cache.misses = 15;
    const ticks = await loop.tick();
    assert.deepEqual([ticks.cache?.status, ticks.web?.status], ['kept', 'resized']);
    assert.deepEqual(cpu.windows, [[new Date(clock.now.getTime() - 2 * MINUTE), clock.now]]);
    assert.deepEqual(web.calls, [
      { target: 3, request: { actor: 'scaler', reason: 'average CPU 91.0% over the last 2 min above 70.0%: grow 2 → 3', cpu: 0.91, growCpu: 0.7, shrinkCpu: 0.2 } },
    ]);
    assert.equal(nodePool.calls.length, 0);
  });

  it('shrinks an idle web pool and records a hold as a web-pool event with the CPU it saw', async (t) => {
    const { db, cpu, web, loop, clock, advance } = await setupBoth(t, { workers: 5 });
    cpu.cpu = 0.04;
    assert.equal((await loop.tick()).web?.status, 'resized');
    assert.deepEqual(web.calls.map((c) => c.target), [2]);

    advance(10 * MINUTE);
    cpu.cpu = 0.5;
    assert.equal((await loop.tick()).web?.status, 'kept');
    const [event] = await db.scalingEvent.findMany({ where: { pool: 'web' } });
    assert.deepEqual(
      { ...event, id: undefined },
      {
        id: undefined, at: clock.now, pool: 'web', actor: 'scaler', fromNodes: 2, toNodes: 2, missRate: null, lookups: null, maxMiss: null, minMiss: null,
        cpu: 0.5, growCpu: 0.7, shrinkCpu: 0.2, reason: 'average CPU 50.0% over the last 2 min within 20.0%–70.0%: keep 2 workers',
      },
    );
  });

  it('holds the web pool for the cool-down after its own last resize, not the cache pool’s', async (t) => {
    const { db, cpu, web, loop, clock, advance } = await setupBoth(t, { workers: 2 });
    cpu.cpu = 0.95;
    await recordScalingEvent(db, { pool: 'web', actor: 'operator', fromNodes: 1, toNodes: 2, reason: '+1' }, new Date(clock.now.getTime() - 60_000));
    await recordScalingEvent(db, { pool: 'cache', actor: 'operator', fromNodes: 1, toNodes: 2, reason: '+1' }, new Date(clock.now.getTime() - 1_000));
    const held = (await loop.tick()).web;
    assert.equal(held?.status, 'kept');
    assert.equal(held.status === 'kept' && held.decision.reason, 'cooling down after the last resize of the web pool: 4 min of 5 min left; keep 2 workers');

    advance(3 * MINUTE);
    assert.equal((await loop.tick()).web?.status, 'kept');
    advance(MINUTE);
    assert.equal((await loop.tick()).web?.status, 'resized');
    assert.deepEqual(web.calls.map((c) => c.target), [3]);
    assert.equal(await lastResizeAt(db, 'web').then((at) => at?.getTime()), clock.now.getTime() - 5 * MINUTE, 'the fake controller records nothing itself');
  });

  it('holds the web pool when no worker reported', async (t) => {
    const { cpu, web, loop } = await setupBoth(t, { workers: 3 });
    cpu.reported = false;
    const tick = (await loop.tick()).web;
    assert.equal(tick?.status === 'kept' && tick.decision.reason, 'no worker reported its CPU in the last 2 min: keep 3 workers');
    assert.equal(web.calls.length, 0);
  });

  it('reads nothing and records nothing for the web pool in manual mode', async (t) => {
    const { db, cpu, web, loop } = await setupBoth(t, { policy: { ...hot, mode: 'manual' } });
    cpu.cpu = 0.99;
    assert.deepEqual((await loop.tick()).web, { status: 'manual' });
    assert.deepEqual(cpu.windows, []);
    assert.equal(web.calls.length, 0);
    assert.equal(await db.scalingEvent.count({ where: { pool: 'web' } }), 0);
  });

  it('does not resize the web pool when it is switched to manual while deciding', async (t) => {
    const db = await openDb(t);
    await saveWorkerPolicy(db, hot);
    const web = fakeController(2);
    const controller: PoolController = {
      ...web.controller,
      async size() {
        await saveWorkerPolicy(db, { ...hot, mode: 'manual' });
        return web.state.nodes;
      },
    };
    const metrics = { workerWindow: async () => ({ reported: true, cpu: 0.99, workers: 2 }) };
    const loop = createScalerLoop({ db, pools: [webScaling({ db, metrics, controller, minWorkers: 1, maxWorkers: 8, cpuWindowMs: 2 * MINUTE })], intervalMs: MINUTE, log: silentLog });
    assert.deepEqual(await loop.tick(), { web: { status: 'manual' } });
    assert.equal(web.state.calls.length, 0);
    assert.equal(await db.scalingEvent.count(), 0);
  });

  it('keeps deciding one pool when the other fails', async (t) => {
    const { cpu, web, nodePool, cache, loop } = await setupBoth(t);
    cpu.cpu = 0.99;
    cache.lookups = cache.misses = 10;
    nodePool.failWith = new Error('resize lock is held');
    const ticks = await loop.tick();
    assert.deepEqual([ticks.cache?.status, ticks.web?.status], ['failed', 'resized']);
    assert.equal(web.nodes, 3);
  });
});

describe('worker policy store', () => {
  it('creates the default row once and saves changes', async (t) => {
    const db = await openDb(t);
    const defaults = { mode: 'manual', growCpu: 0.7, shrinkCpu: 0.2, growRatio: 1.5, shrinkRatio: 0.5, cooldownS: 300 };
    assert.deepEqual(await Promise.all([loadWorkerPolicy(db), loadWorkerPolicy(db)]), [defaults, defaults]);
    assert.equal(await db.workerPolicy.count(), 1);
    const saved = await saveWorkerPolicy(db, { ...defaults, mode: 'auto', cooldownS: 60 });
    assert.deepEqual(await loadWorkerPolicy(db), saved);
    assert.deepEqual([saved.mode, saved.cooldownS], ['auto', 60]);
  });

  it('reads a mode it does not know as manual', async (t) => {
    const db = await openDb(t);
    await db.workerPolicy.create({ data: { id: 1, mode: 'turbo' } });
    assert.equal((await loadWorkerPolicy(db)).mode, 'manual');
  });
});
