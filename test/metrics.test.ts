import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createCacheCounters, type CacheStats } from '../src/cache/cache-stats.js';
import { createCacheStore } from '../src/cache/cache-store.js';
import type { DatabaseConfig } from '../src/config/config.js';
import { createDb, type Db } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createDbMetricsSink } from '../src/metrics/db-metrics-sink.js';
import type { MetricsSink, NodeSample, WorkerStats } from '../src/metrics/metrics-sink.js';
import { createStatsPublisher, type StatsSource } from '../src/metrics/stats-publisher.js';
import { databases, postgresUrl, resetPostgres, type TestDatabase } from './helpers/database.js';

const T0 = new Date('2026-01-01T12:00:00.000Z');
const at = (minutes: number, seconds = 0) => new Date(T0.getTime() + minutes * 60_000 + seconds * 1000);

function workerSample(workerId: string, when: Date, counts: Partial<WorkerStats> = {}): WorkerStats {
  return { workerId, at: when, cpu: 0, requests: 0, bytesIn: 0, bytesOut: 0, ...counts };
}

function sample(nodeId: string, when: Date, counts: Partial<NodeSample> = {}): NodeSample {
  return { nodeId, at: when, lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0, evictions: 0, rejected: 0, items: 0, bytes: 0, ...counts };
}

async function openDb(t: TestContext, database: TestDatabase): Promise<Db> {
  let config: DatabaseConfig;
  let dir: string | undefined;
  if (database === 'sqlite') {
    dir = await mkdtemp(join(tmpdir(), 'emc-metrics-'));
    config = { provider: 'sqlite', url: `file:${join(dir, 'emc.db')}`, poolSize: 1 };
  } else {
    await resetPostgres();
    config = { provider: 'postgres', url: postgresUrl, poolSize: 2 };
  }
  await migrate(config);
  const db = createDb(config);
  t.after(async () => {
    await db.$disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return db;
}

for (const database of databases) {
  describe(`db metrics sink (${database})`, () => {
    it('weights rates by lookups across nodes and samples, not by averaging rates', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(1) });
      await sink.publish([
        sample('a', at(0, 5), { lookups: 4, misses: 4, hits: 0, puts: 1, requests: 5 }),
        sample('a', at(0, 10), { lookups: 6, misses: 5, hits: 1, requests: 6 }),
        sample('b', at(0, 5), { lookups: 90, misses: 0, hits: 90, puts: 2, requests: 92 }),
      ]);
      const totals = await sink.totals(at(0), at(1));
      assert.deepEqual(totals, { reported: true, lookups: 100, hits: 91, misses: 9, puts: 3, requests: 103, missRate: 0.09, hitRate: 0.91 });
    });

    it('counts an idle or empty window as 0, tells an idle window from one nobody reported in, and respects from <= at < to', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(5) });
      const zero = { lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0, missRate: 0, hitRate: 0 };
      assert.deepEqual(await sink.totals(at(0), at(1)), { reported: false, ...zero });
      await sink.publish([
        sample('a', at(0, 30), { requests: 3, puts: 3 }),
        sample('a', at(1), { lookups: 1, misses: 1 }),
        sample('a', at(2), { lookups: 10, hits: 10 }),
        sample('a', new Date(at(1).getTime() - 1), { lookups: 100, misses: 100 }),
      ]);
      assert.deepEqual(await sink.totals(at(0, 10), at(0, 50)), { reported: true, ...zero, puts: 3, requests: 3 });
      assert.deepEqual(await sink.totals(at(3), at(4)), { reported: false, ...zero });
      const bounded = await sink.totals(at(1), at(2));
      assert.deepEqual([bounded.lookups, bounded.missRate], [1, 1]);
    });

    it('prunes samples beyond the retention, at most once a minute', async (t) => {
      const db = await openDb(t, database);
      let clock = at(60);
      const sink = createDbMetricsSink({ db, retentionMs: 10 * 60_000, now: () => clock });
      await sink.publish([sample('a', at(30)), sample('a', at(59))]);
      assert.equal(await db.metricSample.count(), 1, 'the 30-minute-old sample is gone');

      clock = at(60, 30);
      await sink.publish([sample('a', at(40))]);
      assert.equal(await db.metricSample.count(), 2, 'no second prune within the minute');

      clock = at(61, 1);
      await sink.publish([]);
      assert.equal(await db.metricSample.count(), 1);
    });

    it('charts 30 one-minute points with honest gaps, nodes per minute and last gauges', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(30) });
      await sink.publish([
        sample('a', at(-1, 59), { lookups: 50, misses: 50 }),
        sample('a', at(0, 5), { lookups: 10, misses: 9, hits: 1, requests: 10, items: 1, bytes: 100 }),
        sample('b', at(0, 5), { lookups: 90, hits: 90, requests: 95, items: 7, bytes: 700 }),
        sample('a', at(0, 55), { requests: 2, items: 3, bytes: 300 }),
        sample('a', at(2, 0), { requests: 4, items: 5, bytes: 500 }),
        sample('c', at(29, 59), { lookups: 2, misses: 1, hits: 1, requests: 2, items: 1, bytes: 10 }),
        sample('c', at(30), { lookups: 1000, misses: 1000 }),
      ]);
      const points = await sink.series(at(0, 42), 30);
      assert.equal(points.length, 30);
      assert.deepEqual(points.map((p) => p.at), Array.from({ length: 30 }, (_, i) => at(i)));

      assert.deepEqual(points[0], {
        at: at(0), nodes: 2, lookups: 100, hits: 91, misses: 9, missRate: 0.09, hitRate: 0.91, items: 10, bytes: 1000, requests: 107,
      });
      const gap = { nodes: null, lookups: null, hits: null, misses: null, missRate: null, hitRate: null, items: null, bytes: null, requests: null };
      assert.deepEqual(points[1], { at: at(1), ...gap });
      assert.deepEqual(points[2], { at: at(2), nodes: 1, lookups: 0, hits: 0, misses: 0, missRate: 0, hitRate: 0, items: 5, bytes: 500, requests: 4 });
      assert.deepEqual(points[29], { at: at(29), nodes: 1, lookups: 2, hits: 1, misses: 1, missRate: 0.5, hitRate: 0.5, items: 1, bytes: 10, requests: 2 });
      assert.ok(points.slice(3, 29).every((p) => p.nodes === null && p.missRate === null), 'every other minute is a gap');
    });

    it('stores byte gauges above 2^32 exactly', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(1) });
      const big = 2 ** 32 + 5;
      await sink.publish([sample('a', at(0), { bytes: big }), sample('b', at(0), { bytes: 3 * 2 ** 33 })]);
      const [point] = await sink.series(at(0), 1);
      assert.equal(point?.bytes, big + 3 * 2 ** 33);
    });

    it('publishes live cache nodes end to end', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(1) });
      const stores = ['a', 'b'].map((nodeId) => ({ nodeId, store: createCacheStore({ capacityMb: 1, policy: 'LRU' }) }));
      let clock = at(0, 5);
      const publisher = createStatsPublisher({ sink, sources: () => stores.map(({ nodeId, store }) => ({ nodeId, stats: () => store.stats() })), now: () => clock, log: silent });
      const value = { bytes: Buffer.from('png'), contentType: 'image/png', etag: '"1"' };
      stores[0]!.store.put('k', value);
      stores[0]!.store.get('k');
      stores[1]!.store.get('missing');
      await publisher.publishNow();
      clock = at(0, 10);
      stores[1]!.store.get('missing');
      await publisher.stop();
      assert.deepEqual(await sink.totals(at(0), at(1)), { reported: true, lookups: 3, hits: 1, misses: 2, puts: 1, requests: 4, missRate: 2 / 3, hitRate: 1 / 3 });
    });

    it('averages worker CPU per worker, then over the workers that reported, within from <= at < to', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(5) });
      assert.deepEqual(await sink.workerWindow(at(0), at(2)), { reported: false, cpu: 0, workers: 0 });
      await sink.publishWorkers([
        // worker-1 reports three times as often as worker-2: it must not weigh three times as much.
        workerSample('worker-1', at(0, 10), { cpu: 0.9 }),
        workerSample('worker-1', at(0, 20), { cpu: 0.7 }),
        workerSample('worker-1', at(1, 50), { cpu: 0.8 }),
        workerSample('worker-2', at(1, 0), { cpu: 0.2 }),
        workerSample('worker-3', at(2, 0), { cpu: 1 }),
        workerSample('worker-3', new Date(at(0).getTime() - 1), { cpu: 1 }),
      ]);
      const window = await sink.workerWindow(at(0), at(2));
      assert.deepEqual({ ...window, cpu: Number(window.cpu.toFixed(6)) }, { reported: true, cpu: 0.5, workers: 2 });
      assert.deepEqual(await sink.workerWindow(at(3), at(4)), { reported: false, cpu: 0, workers: 0 });
    });

    it('charts workers per minute with gaps, for the pool or one worker, bytes beyond 2^32 exact', async (t) => {
      const sink = createDbMetricsSink({ db: await openDb(t, database), now: () => at(5) });
      const big = 2 ** 33 + 7;
      await sink.publishWorkers([
        workerSample('worker-1', at(0, 5), { cpu: 0.4, requests: 10, bytesIn: 1000, bytesOut: big }),
        workerSample('worker-1', at(0, 35), { cpu: 0.6, requests: 20, bytesIn: 2000, bytesOut: 1 }),
        workerSample('worker-2', at(0, 10), { cpu: 0.1, requests: 1, bytesIn: 10, bytesOut: 100 }),
        workerSample('worker-2', at(2, 10), { cpu: 0.3, requests: 3, bytesIn: 30, bytesOut: 300 }),
        workerSample('worker-2', at(3, 0), { cpu: 1, requests: 99 }),
      ]);
      const points = await sink.workerSeries(at(0, 30), at(3));
      assert.deepEqual(points, [
        { at: at(0), workers: 2, cpu: (0.5 + 0.1) / 2, requests: 31, bytesIn: 3010, bytesOut: big + 101 },
        { at: at(1), workers: 0, cpu: null, requests: null, bytesIn: null, bytesOut: null },
        { at: at(2), workers: 1, cpu: 0.3, requests: 3, bytesIn: 30, bytesOut: 300 },
      ]);
      const one = await sink.workerSeries(at(0), at(1), 'worker-1');
      assert.deepEqual(one, [{ at: at(0), workers: 1, cpu: 0.5, requests: 30, bytesIn: 3000, bytesOut: big + 1 }]);
      assert.deepEqual(await sink.workerSeries(at(0), at(0)), []);
    });

    it('prunes worker samples with the node samples', async (t) => {
      const db = await openDb(t, database);
      const sink = createDbMetricsSink({ db, retentionMs: 10 * 60_000, now: () => at(60) });
      await sink.publishWorkers([workerSample('worker-1', at(30)), workerSample('worker-1', at(59))]);
      assert.equal(await db.workerSample.count(), 1);
    });
  });
}

const silent = { warn: () => {} };

/** A sink that records what it was given, failing while `failing` is true. */
function recordingSink() {
  const batches: NodeSample[][] = [];
  const state = { failing: false };
  const sink: MetricsSink = {
    async publish(samples) {
      if (state.failing) throw new Error('database down');
      batches.push([...samples]);
    },
    totals: async () => assert.fail('not used'),
    series: async () => assert.fail('not used'),
    publishWorkers: async () => assert.fail('not used'),
    workerWindow: async () => assert.fail('not used'),
    workerSeries: async () => assert.fail('not used'),
    close: async () => {},
  };
  return { sink, batches, state };
}

function fakeNode(nodeId: string) {
  const stats: CacheStats = { ...createCacheCounters(), items: 0, bytes: 0, capacityBytes: 1024, policy: 'LRU' };
  const source: StatsSource & { failing: boolean } = {
    nodeId,
    failing: false,
    stats: async () => {
      if (source.failing) throw new Error('node down');
      return { ...stats };
    },
  };
  return { stats, source };
}

const counts = (s: NodeSample) => ({ node: s.nodeId, lookups: s.lookups, misses: s.misses, requests: s.requests, items: s.items });

describe('stats publisher', () => {
  it('publishes deltas, the first since start, and a restart as the new value', async () => {
    const { sink, batches } = recordingSink();
    const a = fakeNode('a');
    let clock = at(0);
    const publisher = createStatsPublisher({ sink, sources: () => [a.source], now: () => clock, log: silent });
    Object.assign(a.stats, { lookups: 10, misses: 4, requests: 12, items: 3 });
    await publisher.publishNow();
    Object.assign(a.stats, { lookups: 25, misses: 5, requests: 30, items: 4 });
    clock = at(0, 5);
    await publisher.publishNow();
    Object.assign(a.stats, { lookups: 7, misses: 7, requests: 40, items: 0 });
    clock = at(0, 10);
    await publisher.publishNow();
    assert.deepEqual(batches.flat().map(counts), [
      { node: 'a', lookups: 10, misses: 4, requests: 12, items: 3 },
      { node: 'a', lookups: 15, misses: 1, requests: 18, items: 4 },
      { node: 'a', lookups: 7, misses: 7, requests: 40, items: 0 },
    ]);
    assert.deepEqual(batches.flat().map((s) => s.at), [at(0), at(0, 5), at(0, 10)]);
  });

  it('keeps unsent samples through a failing sink and a failing node', async () => {
    const { sink, batches, state } = recordingSink();
    const a = fakeNode('a');
    const b = fakeNode('b');
    const warnings: string[] = [];
    let clock = at(0);
    const log = { warn: (_obj: unknown, msg?: string) => void warnings.push(msg ?? '') };
    const publisher = createStatsPublisher({ sink, sources: () => [a.source, b.source], now: () => clock, log });
    state.failing = true;
    Object.assign(a.stats, { lookups: 5 });
    Object.assign(b.stats, { lookups: 1 });
    await publisher.publishNow();
    assert.equal(batches.length, 0);
    assert.match(warnings.join(), /publishing node stats failed/);

    state.failing = false;
    b.source.failing = true;
    clock = at(0, 5);
    Object.assign(a.stats, { lookups: 8 });
    Object.assign(b.stats, { lookups: 4 });
    await publisher.publishNow();
    assert.deepEqual(batches[0]?.map((s) => [s.nodeId, s.at.getTime(), s.lookups]), [
      ['a', at(0).getTime(), 5],
      ['b', at(0).getTime(), 1],
      ['a', at(0, 5).getTime(), 3],
    ]);

    b.source.failing = false;
    await publisher.publishNow();
    assert.deepEqual(batches[1]?.map((s) => [s.nodeId, s.lookups]), [['a', 0], ['b', 3]], 'b catches up after its failed read');
  });

  it('bounds the backlog, dropping the oldest samples', async () => {
    const { sink, batches, state } = recordingSink();
    const a = fakeNode('a');
    let lookups = 0;
    const publisher = createStatsPublisher({ sink, sources: () => [a.source], log: silent, maxBacklog: 2 });
    state.failing = true;
    for (let i = 0; i < 4; i++) {
      a.stats.lookups = lookups += 1;
      await publisher.publishNow();
    }
    state.failing = false;
    await publisher.publishNow();
    assert.deepEqual(batches[0]?.map((s) => s.lookups), [1, 1, 0]);
  });

  it('publishes on its interval and once more when stopped', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const { sink, batches } = recordingSink();
    const a = fakeNode('a');
    const publisher = createStatsPublisher({ sink, sources: () => [a.source], intervalMs: 5000, log: silent });
    publisher.start();
    t.mock.timers.tick(10_000);
    await publisher.publishNow();
    assert.equal(batches.length, 3, 'two interval ticks and one explicit publish');
    a.stats.lookups = 3;
    await publisher.stop();
    assert.equal(batches.length, 4);
    assert.equal(batches.at(-1)?.[0]?.lookups, 3);
    t.mock.timers.tick(60_000);
    await publisher.publishNow();
    assert.equal(batches.length, 5, 'only the explicit publish: the timer is gone');
  });
});
