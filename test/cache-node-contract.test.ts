import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { CacheStore } from '../src/cache/cache-store.js';
import type { CacheEntry, CacheValue } from '../src/cache/cache-types.js';
import type { CacheNode } from '../src/pool/cache-node.js';
import { createInProcessCacheNode } from '../src/pool/inprocess-cache-node.js';
import { httpNodeFor, newStore } from './helpers/cache-server.js';

// Both transports must be interchangeable behind the pool: the same calls, the same answers.
const transports: { name: string; nodeFor: (t: TestContext, store: CacheStore) => Promise<CacheNode> }[] = [
  { name: 'in-process', nodeFor: async (_t, store) => createInProcessCacheNode('node-local', store) },
  { name: 'http', nodeFor: (t, store) => httpNodeFor(t, store) },
];

const MB = 1024 * 1024;
const value = (bytes: string | Buffer, contentType = 'image/png', etag = '"v1"'): CacheValue => ({
  bytes: Buffer.from(bytes),
  contentType,
  etag,
});
const awkwardKeys = [
  'a/b/c.png',
  'with space',
  'ünïcødé/😀',
  '100%',
  'q?x=1#frag',
  'a+b;c&d=e',
  '.',
  '..',
  '../up',
  '',
  'é'.repeat(255),
];

for (const { name, nodeFor } of transports) {
  describe(`cache node contract (${name})`, () => {
    const setUp = async (t: TestContext, capacityMb = 1) => {
      const store = newStore(capacityMb);
      return { store, node: await nodeFor(t, store) };
    };

    it('stores and returns bytes with their type and etag, counting hits and misses', async (t) => {
      const { node } = await setUp(t);
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      assert.equal(await node.put('k', value(every, 'image/jpeg', '"abc-1"')), true);
      assert.deepEqual(await node.get('k'), value(every, 'image/jpeg', '"abc-1"'));
      assert.equal(await node.get('missing'), undefined);
      const stats = await node.stats();
      assert.deepEqual([stats.lookups, stats.hits, stats.misses, stats.puts, stats.items], [2, 1, 1, 1, 1]);
      assert.equal(stats.bytes, 1 + 256);
    });

    it('round-trips awkward keys, empty values and large values', async (t) => {
      const { node } = await setUp(t, 2);
      for (const key of awkwardKeys) assert.equal(await node.put(key, value(`v:${key}`)), true, key);
      for (const key of awkwardKeys) assert.deepEqual(await node.get(key), value(`v:${key}`), key);
      assert.deepEqual((await node.keys()).sort(), [...awkwardKeys].sort());

      await node.put('empty', value('', 'image/png', '"empty"'));
      assert.deepEqual(await node.get('empty'), value('', 'image/png', '"empty"'));
      const big = Buffer.alloc(MB, 7);
      await node.put('big', value(big));
      assert.ok((await node.get('big'))?.bytes.equals(big));
    });

    it('refuses an entry larger than the capacity and counts it', async (t) => {
      const { node } = await setUp(t);
      assert.equal(await node.put('huge', value(Buffer.alloc(MB + 1))), false);
      assert.equal(await node.get('huge'), undefined);
      assert.equal((await node.stats()).rejectedTooLarge, 1);
    });

    it('peeks without counting a lookup or changing recency', async (t) => {
      const { node } = await setUp(t);
      await node.put('a', value('A'));
      await node.put('b', value('B'));
      assert.deepEqual(await node.peek('a'), value('A'));
      assert.equal(await node.peek('nope'), undefined);
      assert.deepEqual(await node.keys(), ['a', 'b']);
      assert.equal((await node.stats()).lookups, 0);
      await node.get('a');
      assert.deepEqual(await node.keys(), ['b', 'a']);
    });

    it('invalidates one key and clears all', async (t) => {
      const { node } = await setUp(t);
      for (const key of ['a', 'b', 'c']) await node.put(key, value(key));
      await node.invalidate('b');
      await node.invalidate('never-there');
      assert.deepEqual(await node.keys(), ['a', 'c']);
      await node.clear();
      assert.deepEqual(await node.keys(), []);
      assert.equal((await node.stats()).items, 0);
    });

    it('reconfigures keeping its entries, and rejects a bad configuration naming the field', async (t) => {
      const { node } = await setUp(t);
      await node.put('a', value('A'));
      await node.reconfigure({ capacityMb: 3, policy: 'RR' });
      const stats = await node.stats();
      assert.deepEqual([stats.capacityBytes, stats.policy, stats.items], [3 * MB, 'RR', 1]);
      await assert.rejects(node.reconfigure({ capacityMb: 0, policy: 'LRU' }), /capacityMb must be an integer/);
      await assert.rejects(node.reconfigure({ capacityMb: 2, policy: 'FIFO' as 'LRU' }), /policy must be one of LRU, RR/);
      assert.equal((await node.stats()).capacityBytes, 3 * MB);
    });

    it('exports resident entries in the order asked, without using them', async (t) => {
      const { node } = await setUp(t);
      for (const key of ['a', 'b/c', 'd']) await node.put(key, value(`v:${key}`, 'image/gif', `"${key}"`));
      const exported = await node.exportEntries(['d', 'gone', 'a', 'b/c']);
      assert.deepEqual(exported, [
        { key: 'd', value: value('v:d', 'image/gif', '"d"') },
        { key: 'a', value: value('v:a', 'image/gif', '"a"') },
        { key: 'b/c', value: value('v:b/c', 'image/gif', '"b/c"') },
      ]);
      assert.deepEqual(await node.exportEntries([]), []);
      assert.deepEqual(await node.keys(), ['a', 'b/c', 'd']);
      assert.equal((await node.stats()).lookups, 0);
    });

    it('imports in order, skipping resident keys, and removes moved keys', async (t) => {
      const { node } = await setUp(t);
      await node.put('b', value('newer'));
      const incoming: CacheEntry[] = ['a', 'b', 'c'].map((key) => ({ key, value: value(`old:${key}`) }));
      assert.equal(await node.importEntries(incoming), 2);
      assert.equal(await node.importEntries([]), 0);
      assert.deepEqual(await node.keys(), ['b', 'a', 'c']);
      assert.deepEqual(await node.peek('b'), value('newer'));
      assert.deepEqual(await node.peek('c'), value('old:c'));
      assert.equal(await node.removeEntries(['a', 'c', 'zzz']), 2);
      assert.deepEqual(await node.keys(), ['b']);
    });

    it('reports healthy', async (t) => {
      const { node } = await setUp(t);
      assert.equal(await node.health(), true);
    });
  });
}
