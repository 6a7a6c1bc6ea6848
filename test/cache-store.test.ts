import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { missRate } from '../src/cache/cache-stats.js';
import { createCacheStore, type CacheStore } from '../src/cache/cache-store.js';
import { entrySize, type CachePolicy, type CacheValue } from '../src/cache/cache-types.js';
import { seededRandom } from '../bench/zipf.js';

const MB = 1024 * 1024;
// Views into one buffer: the tests need megabyte-sized values, not megabytes of allocations.
const pool = Buffer.alloc(4 * MB);
const valueOf = (size: number): CacheValue => ({ bytes: pool.subarray(0, size), contentType: 'image/png', etag: '"v1"' });
/** A value whose entry (key + bytes) costs exactly `cost` bytes. */
const costing = (key: string, cost: number) => valueOf(cost - Buffer.byteLength(key));

const keysOf = (store: CacheStore) => store.exportEntries().map((e) => e.key);
const fill = (store: CacheStore, keys: string[], cost: number) => keys.forEach((k) => store.put(k, costing(k, cost)));

describe('cache store: capacity (property)', () => {
  const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
  const policyArb = fc.constantFrom<CachePolicy>('LRU', 'RR');
  const opArb = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), key: keyArb, size: fc.integer({ min: 0, max: Math.round(1.3 * MB) }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('invalidate' as const), key: keyArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('reconfigure' as const), capacityMb: fc.integer({ min: 1, max: 3 }), policy: policyArb }) },
  );

  for (const policy of ['LRU', 'RR'] as const) {
    it(`never holds more bytes than its capacity (${policy})`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer(), (ops, seed) => {
          const store = createCacheStore({ capacityMb: 2, policy, random: seededRandom(seed) });
          for (const op of ops) {
            if (op.op === 'put') {
              const value = valueOf(op.size);
              const stored = store.put(op.key, value);
              assert.equal(stored, entrySize(op.key, value) <= store.stats().capacityBytes);
              assert.equal(store.peek(op.key), stored ? value : undefined);
            } else if (op.op === 'get') store.get(op.key);
            else if (op.op === 'invalidate') {
              store.invalidate(op.key);
              assert.equal(store.peek(op.key), undefined);
            } else {
              const before = store.stats();
              store.reconfigure({ capacityMb: op.capacityMb, policy: op.policy });
              if (op.capacityMb * MB >= before.bytes) assert.equal(store.stats().items, before.items);
            }
            const stats = store.stats();
            const entries = store.exportEntries();
            assert.ok(stats.bytes <= stats.capacityBytes, `${stats.bytes} > ${stats.capacityBytes}`);
            assert.equal(stats.bytes, entries.reduce((sum, e) => sum + entrySize(e.key, e.value), 0));
            assert.equal(stats.items, entries.length);
            assert.equal(stats.hits + stats.misses, stats.lookups);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('cache store: eviction', () => {
  it('LRU evicts the least recently used entry', () => {
    const store = createCacheStore({ capacityMb: 1, policy: 'LRU' });
    fill(store, ['a', 'b', 'c', 'd'], MB / 4);
    store.get('a');
    store.put('e', costing('e', MB / 4));
    assert.deepEqual(keysOf(store), ['c', 'd', 'a', 'e']);
    assert.equal(store.stats().evictions, 1);
  });

  it('counts evictions only when making room, not on overwrite, invalidate or clear', () => {
    const store = createCacheStore({ capacityMb: 1, policy: 'LRU' });
    fill(store, ['a', 'a', 'b'], MB / 4);
    store.invalidate('a');
    store.clear();
    assert.equal(store.stats().evictions, 0);
  });

  it('RR picks its victim from the random source, even the most recently used entry', () => {
    const store = createCacheStore({ capacityMb: 1, policy: 'RR', random: () => 0 });
    fill(store, ['a', 'b', 'c', 'd'], MB / 4);
    store.get('a');
    store.put('e', costing('e', MB / 4));
    assert.equal(store.peek('a'), undefined);
    assert.deepEqual(keysOf(store).sort(), ['b', 'c', 'd', 'e']);
  });

  it('RR evicts uniformly, not like LRU (400 seeded runs)', () => {
    const random = seededRandom(42);
    const victims = new Map<string, number>();
    for (let run = 0; run < 400; run++) {
      for (const [policy, tally] of [['RR', victims], ['LRU', undefined]] as const) {
        const store = createCacheStore({ capacityMb: 1, policy, random });
        fill(store, ['a', 'b', 'c', 'd'], MB / 4);
        ['a', 'c', 'd'].forEach((k) => store.get(k));
        store.put('e', costing('e', MB / 4));
        const victim = ['a', 'b', 'c', 'd'].find((k) => store.peek(k) === undefined) as string;
        if (tally) tally.set(victim, (tally.get(victim) ?? 0) + 1);
        else assert.equal(victim, 'b');
      }
    }
    for (const key of ['a', 'b', 'c', 'd']) {
      const share = (victims.get(key) ?? 0) / 400;
      assert.ok(share > 0.15 && share < 0.35, `${key} evicted in ${share} of runs`);
    }
  });
});

describe('cache store: reconfigure', () => {
  it('shrinking an LRU node evicts only the least recent entries that no longer fit', () => {
    const store = createCacheStore({ capacityMb: 2, policy: 'LRU' });
    fill(store, ['a', 'b', 'c', 'd', 'e', 'f'], MB / 3);
    store.get('a');
    store.reconfigure({ capacityMb: 1, policy: 'LRU' });
    assert.deepEqual(keysOf(store), ['e', 'f', 'a']);
    assert.equal(store.stats().evictions, 3);
    assert.equal(store.stats().capacityBytes, MB);
  });

  it('shrinking an RR node evicts random entries, only as many as needed', () => {
    const store = createCacheStore({ capacityMb: 2, policy: 'RR', random: seededRandom(7) });
    fill(store, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], MB / 4);
    store.reconfigure({ capacityMb: 1, policy: 'RR' });
    const kept = keysOf(store);
    assert.equal(kept.length, 4);
    assert.notDeepEqual(kept, ['e', 'f', 'g', 'h'], 'this seed should not mimic LRU');
    assert.equal(store.stats().evictions, 4);
  });

  for (const policy of ['LRU', 'RR'] as const) {
    it(`growing keeps everything, in order (${policy})`, () => {
      const store = createCacheStore({ capacityMb: 1, policy });
      fill(store, ['a', 'b', 'c', 'd'], MB / 4);
      store.get('b');
      const before = keysOf(store);
      store.reconfigure({ capacityMb: 3, policy });
      assert.deepEqual(keysOf(store), before);
      assert.equal(store.stats().evictions, 0);
      assert.deepEqual(store.config(), { capacityMb: 3, policy });
    });
  }

  it('switching policy LRU → RR → LRU keeps entries and recency order', () => {
    const store = createCacheStore({ capacityMb: 1, policy: 'LRU' });
    fill(store, ['a', 'b', 'c'], 1000);
    store.get('a');
    store.reconfigure({ capacityMb: 1, policy: 'RR' });
    assert.deepEqual(keysOf(store), ['b', 'c', 'a']);
    store.reconfigure({ capacityMb: 1, policy: 'LRU' });
    assert.deepEqual(keysOf(store), ['b', 'c', 'a']);
    store.put('d', costing('d', MB - 2000));
    assert.deepEqual(keysOf(store), ['c', 'a', 'd'], 'b is still the least recent');
  });

  it('rejects an invalid configuration with a RangeError and keeps the old one', () => {
    for (const capacityMb of [0, 4097, 1.5, Number.NaN]) {
      assert.throws(() => createCacheStore({ capacityMb, policy: 'LRU' }), { name: 'RangeError', message: /capacityMb/ });
    }
    assert.throws(() => createCacheStore({ capacityMb: 1, policy: 'FIFO' as CachePolicy }), /policy/);
    const store = createCacheStore({ capacityMb: 4096, policy: 'RR' });
    assert.throws(() => store.reconfigure({ capacityMb: 0, policy: 'LRU' }), RangeError);
    assert.deepEqual(store.config(), { capacityMb: 4096, policy: 'RR' });
  });
});

describe('cache store: oversize items and stats', () => {
  it('rejects and counts an item larger than the capacity, dropping the older copy', () => {
    const store = createCacheStore({ capacityMb: 1, policy: 'LRU' });
    assert.equal(store.put('a', costing('a', MB)), true, 'exactly the capacity fits');
    assert.equal(store.put('a', costing('a', MB + 1)), false);
    assert.equal(store.peek('a'), undefined);
    assert.deepEqual(
      { puts: store.stats().puts, rejectedTooLarge: store.stats().rejectedTooLarge, items: store.stats().items },
      { puts: 2, rejectedTooLarge: 1, items: 0 },
    );
  });

  it('counts lookups, hits, misses, puts and requests', () => {
    const store = createCacheStore({ capacityMb: 1, policy: 'RR' });
    store.put('a', costing('a', 100));
    assert.equal(store.get('a')?.contentType, 'image/png');
    store.get('b');
    store.get('b');
    store.invalidate('a');
    store.get('a');
    store.peek('a');
    const stats = store.stats();
    assert.deepEqual(stats, {
      lookups: 4, hits: 1, misses: 3, puts: 1, items: 0, bytes: 0, evictions: 0,
      rejectedTooLarge: 0, requests: 7, capacityBytes: MB, policy: 'RR',
    });
    assert.equal(missRate(stats), 0.75);
    assert.equal(missRate({ misses: 0, lookups: 0 }), 0);
  });
});

describe('cache store: migration', () => {
  it('exports least recent first and imports so the LRU order is preserved', () => {
    const source = createCacheStore({ capacityMb: 1, policy: 'LRU' });
    fill(source, ['a', 'b', 'c', 'x'], MB / 4);
    source.get('a');
    const lookups = source.stats().lookups;
    const moving = source.exportEntries((key) => key !== 'x');
    assert.deepEqual(moving.map((e) => e.key), ['b', 'c', 'a']);
    assert.equal(source.stats().lookups, lookups, 'export is not a lookup');

    const target = createCacheStore({ capacityMb: 1, policy: 'LRU' });
    assert.equal(target.importEntries(moving), 3);
    assert.deepEqual(keysOf(target), ['b', 'c', 'a']);
    target.put('n', costing('n', MB / 2));
    assert.deepEqual(keysOf(target), ['c', 'a', 'n'], 'the least recent imported goes first');

    assert.equal(source.removeEntries(['b', 'c', 'a', 'absent']), 3);
    assert.deepEqual(keysOf(source), ['x']);
    assert.equal(source.stats().evictions, 0);
  });

  it('import keeps a resident copy and rejects what cannot fit', () => {
    const target = createCacheStore({ capacityMb: 1, policy: 'RR' });
    const fresh = costing('a', 10);
    target.put('a', fresh);
    const stored = target.importEntries([
      { key: 'a', value: costing('a', 20) },
      { key: 'big', value: costing('big', MB + 1) },
      { key: 'b', value: costing('b', 30) },
    ]);
    assert.equal(stored, 1);
    assert.equal(target.peek('a'), fresh);
    assert.equal(target.stats().rejectedTooLarge, 1);
    assert.deepEqual(keysOf(target), ['a', 'b']);
  });
});
