import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCachePool, type CachePool } from '../src/pool/cache-pool.js';
import type { CacheNode } from '../src/pool/cache-node.js';
import { flaky, gated, inProcessNodes, silentLog, valueOf } from './helpers/pool.js';

async function assertWithinCapacity(pool: CachePool) {
  for (const row of await pool.status()) {
    assert.ok(row.stats, row.id);
    assert.ok(row.stats.bytes <= row.stats.capacityBytes, `${row.id} holds ${row.stats.bytes} > ${row.stats.capacityBytes}`);
  }
}

async function lookups(pool: CachePool) {
  const rows = await pool.status();
  const sum = (field: 'hits' | 'misses') => rows.reduce((n, row) => n + (row.stats?.[field] ?? 0), 0);
  return { hits: sum('hits'), misses: sum('misses') };
}

/** Looks every key up and asserts each was a hit (the nodes' own counters agree). */
async function assertAllHits(pool: CachePool, keys: string[]) {
  const before = await lookups(pool);
  for (const key of keys) assert.deepEqual(await pool.get(key), valueOf(key, 4096), `${key} was dropped`);
  const after = await lookups(pool);
  assert.deepEqual({ hits: after.hits - before.hits, misses: after.misses - before.misses }, { hits: keys.length, misses: 0 });
}

describe('resize with migration', () => {
  // Red-team issue 13 (8): an in-process resize of 17,000 entries held the event loop ~250 ms.
  test('a resize of in-process nodes moves entries in slices: timers and look-ups run while it moves', async () => {
    const all = inProcessNodes(4, 8);
    const pool = createCachePool({ nodes: all.slice(0, 1), routing: 'ring', log: silentLog });
    const keys = Array.from({ length: 6000 }, (_, i) => `image-${i}`);
    for (const key of keys) await pool.put(key, valueOf(key, 256));
    let finished = false;
    const resizing = pool.resize(all).then((report) => ((finished = true), report));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(finished, false, 'a timer got its turn while entries were still moving');
    assert.deepEqual(await pool.get('image-1'), valueOf('image-1', 256), 'a look-up is answered mid-move');
    const report = await resizing;
    assert.deepEqual([report.lost, report.failedSources], [0, []]);
    assert.equal((await pool.status()).reduce((n, r) => n + r.stats!.items, 0), keys.length);
    await pool.close();
  });

  test('fill 4 nodes, resize to 5 then to 3: every entry is still a hit, no node over capacity', async () => {
    const all = inProcessNodes(5);
    const pool = createCachePool({ nodes: all.slice(0, 4), routing: 'ring', log: silentLog });
    const keys = Array.from({ length: 300 }, (_, i) => `image-${i}`);
    // 300 × 4 KB ≈ 1.2 MB: under a third of the 3 MB the pool keeps after shrinking.
    for (const key of keys) await pool.put(key, valueOf(key, 4096));
    await assertWithinCapacity(pool);

    const grow = await pool.resize(all);
    assert.ok(grow.moved > 0 && grow.moved < keys.length / 3, `moved ${grow.moved}: only the new node's share moves`);
    assert.deepEqual([grow.lost, grow.failedSources], [0, []]);
    await assertWithinCapacity(pool);
    await assertAllHits(pool, keys);

    const shrink = await pool.resize([all[0]!, all[2]!, all[4]!]);
    assert.deepEqual([shrink.lost, shrink.failedSources], [0, []]);
    await assertWithinCapacity(pool);
    await assertAllHits(pool, keys);
    assert.equal((await pool.status()).reduce((n, r) => n + r.stats!.items, 0), keys.length, 'no duplicates left behind');
  });

  test('entries moved to a new owner keep their LRU order', async () => {
    const [a, b] = inProcessNodes(2);
    const pool = createCachePool({ nodes: [a!], routing: 'ring', log: silentLog });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const key of keys) await pool.put(key, valueOf(key, 100));
    for (const key of keys.slice(0, 50)) await pool.get(key); // the first 50 become the most recent
    const orderBefore = await a!.keys();
    await pool.resize([a!, b!]);
    const moved = new Set(await b!.keys());
    assert.ok(moved.size > 0);
    assert.deepEqual(await b!.keys(), orderBefore.filter((k) => moved.has(k)));
  });

  test('while entries move, a miss on the new owner reads the old owner', async () => {
    const [a, b] = inProcessNodes(2);
    let open!: () => void;
    const source = gated(a!, new Promise<void>((resolve) => (open = resolve)));
    const pool = createCachePool({ nodes: [source], routing: 'ring', log: silentLog });
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    for (const key of keys) await pool.put(key, valueOf(key, 100));

    const resizing = pool.resize([source, b!]);
    await new Promise((r) => setImmediate(r));
    for (const key of keys) assert.ok(await pool.get(key), `${key} is readable mid-move`);
    // An invalidation mid-move must not be undone by the copy in flight.
    await pool.invalidate('k1');
    open();
    await resizing;
    assert.equal(await pool.get('k1'), undefined);
    for (const key of keys.filter((k) => k !== 'k1')) assert.ok(await pool.get(key), key);
  });

  test('resizes are serialised', async () => {
    const nodes = inProcessNodes(4);
    const pool = createCachePool({ nodes: nodes.slice(0, 1), routing: 'partition16', log: silentLog });
    for (let i = 0; i < 100; i++) await pool.put(`k${i}`, valueOf(`k${i}`, 64));
    await Promise.all([pool.resize(nodes.slice(0, 3)), pool.resize(nodes), pool.resize(nodes.slice(0, 2))]);
    assert.deepEqual(pool.nodes().map((n) => n.id), ['node-1', 'node-2']);
    for (let i = 0; i < 100; i++) assert.ok(await pool.get(`k${i}`), `k${i}`);
  });
});

describe('a failing node never fails a look-up', () => {
  test('errors become misses, the node turns suspect, and it heals after catching up on invalidations', async () => {
    const down = { on: false };
    const [a, b] = inProcessNodes(2);
    const fragile: CacheNode = flaky(b!, down);
    const pool = createCachePool({ nodes: [a!, fragile], routing: 'ring', log: silentLog, probeIntervalMs: 20 });
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    for (const key of keys) await pool.put(key, valueOf(key, 64));
    const onB = (await b!.keys()).slice(0, 2);
    assert.ok(onB.length === 2);

    down.on = true;
    for (const key of keys) await pool.get(key); // never throws
    const row = (await pool.status()).find((r) => r.id === 'node-2')!;
    assert.equal(row.suspect, true);
    assert.match(row.error!, /node-2 is down/);
    assert.equal(await pool.get(onB[0]!), undefined, 'a suspect node is skipped');
    await pool.invalidate(onB[0]!); // missed by node-2: must be replayed before it serves again

    down.on = false;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await pool.status()).find((r) => r.id === 'node-2')!.suspect, false);
    assert.equal(await pool.get(onB[0]!), undefined, 'the missed invalidation was replayed');
    assert.ok(await pool.get(onB[1]!), 'the rest of its contents survived');
    await pool.close();
  });
});
