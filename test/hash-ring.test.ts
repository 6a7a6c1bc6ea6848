import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHashRing } from '../src/pool/hash-ring.js';
import { createPartition16, partitionOf } from '../src/pool/partition16.js';
import { createRouter } from '../src/pool/router.js';

const KEY_COUNT = 100_000;
const keys = Array.from({ length: KEY_COUNT }, (_, i) => `key-${i}`);
const nodeIds = (n: number) => Array.from({ length: n }, (_, i) => `node-${i + 1}`);

describe('hash ring: spread and movement (100 000 keys, default 160 points per node)', () => {
  // One pass over 1 → 8 nodes feeds every assertion below, to keep the file fast.
  const ownersByCount = new Map<number, string[]>();
  for (let n = 1; n <= 8; n++) {
    const ring = createHashRing(nodeIds(n));
    ownersByCount.set(n, keys.map((key) => ring.lookup(key)));
  }

  it('moves about 1/(n+1) of the keys on each +1, within 1.15× of ideal', () => {
    for (let n = 1; n < 8; n++) {
      const before = ownersByCount.get(n) as string[];
      const after = ownersByCount.get(n + 1) as string[];
      const moved = after.filter((owner, i) => owner !== before[i]).length;
      const ideal = KEY_COUNT / (n + 1);
      assert.ok(moved <= 1.15 * ideal, `${n}→${n + 1}: moved ${moved}, ideal ${ideal.toFixed(0)}`);
    }
  });

  it('moves keys only to the new node (minimal movement)', () => {
    for (let n = 1; n < 8; n++) {
      const before = ownersByCount.get(n) as string[];
      const after = ownersByCount.get(n + 1) as string[];
      after.forEach((owner, i) => {
        if (owner !== before[i]) assert.equal(owner, `node-${n + 1}`, `${keys[i]} on ${n}→${n + 1}`);
      });
    }
  });

  it('keeps max/mean load at 8 nodes within 1.25', () => {
    const counts = new Map<string, number>();
    for (const owner of ownersByCount.get(8) as string[]) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    assert.equal(counts.size, 8);
    const ratio = Math.max(...counts.values()) / (KEY_COUNT / 8);
    assert.ok(ratio <= 1.25, `max/mean ${ratio.toFixed(3)}`);
  });
});

describe('hash ring: determinism', () => {
  it('gives the same owners for the same nodes, whatever their order', () => {
    const a = createHashRing(nodeIds(5));
    const b = createHashRing([...nodeIds(5)].reverse());
    for (const key of keys.slice(0, 5_000)) assert.equal(a.lookup(key), b.lookup(key));
  });

  it('gives pinned owners across processes', () => {
    // Computed once with this implementation; a change here means keys would move between releases.
    const ring = createHashRing(nodeIds(4));
    assert.equal(ring.lookup('k1'), 'node-3');
    assert.equal(ring.lookup('k2'), 'node-3');
    assert.equal(ring.lookup('alpha'), 'node-4');
    assert.equal(ring.lookup('images/cat.png'), 'node-2');
    assert.equal(ring.lookup(''), 'node-3');
  });

  it('matches a naive ketama reference (four LE words per md5 of `${node}-${j}`)', () => {
    const nodes = nodeIds(3);
    const points = nodes.flatMap((node) =>
      Array.from({ length: 40 }, (_, j) => createHash('md5').update(`${node}-${j}`).digest()).flatMap((d) =>
        [0, 4, 8, 12].map((offset) => ({ position: d.readUInt32LE(offset), node })),
      ),
    );
    const ring = createHashRing(nodes);
    for (const key of keys.slice(0, 500)) {
      const position = createHash('md5').update(key).digest().readUInt32LE(0);
      const after = points.filter((p) => p.position >= position);
      const pool = after.length > 0 ? after : points;
      const best = pool.reduce((a, b) => (b.position < a.position || (b.position === a.position && b.node < a.node) ? b : a));
      assert.equal(ring.lookup(key), best.node, key);
    }
  });
});

describe('hash ring: small cases', () => {
  const table: Record<string, number> = { 'a-0': 100, 'b-0': 200, 'c-0': 300, k50: 50, k100: 100, k150: 150, k250: 250, k350: 350 };
  const hash = (data: string) => table[data] ?? assert.fail(`unexpected hash input ${data}`);

  it('walks clockwise to the first point at or after the key, wrapping around', () => {
    const ring = createHashRing(['c', 'a', 'b'], { replicas: 1, hash });
    assert.equal(ring.lookup('k50'), 'a');
    assert.equal(ring.lookup('k100'), 'a');
    assert.equal(ring.lookup('k150'), 'b');
    assert.equal(ring.lookup('k250'), 'c');
    assert.equal(ring.lookup('k350'), 'a');
  });

  it('breaks ties between colliding points by node id', () => {
    const same = () => 7;
    assert.equal(createHashRing(['y', 'x', 'z'], { replicas: 1, hash: same }).lookup('any'), 'x');
    assert.equal(createHashRing(['z', 'y'], { replicas: 1, hash: same }).lookup('any'), 'y');
  });

  it('sends every key to the only node', () => {
    const ring = createHashRing(['solo']);
    for (const key of keys.slice(0, 100)) assert.equal(ring.lookup(key), 'solo');
  });

  it('rejects an empty or duplicated node list and bad replicas', () => {
    assert.throws(() => createHashRing([]), { name: 'RangeError', message: /at least one node/ });
    assert.throws(() => createHashRing(['a', 'a']), /unique/);
    assert.throws(() => createHashRing(['a'], { replicas: 0 }), /replicas/);
  });
});

describe('16-partition scheme (course)', () => {
  it('uses the first hex digit of md5(key): k1 → b637… → partition 11', () => {
    assert.ok(createHash('md5').update('k1').digest('hex').startsWith('b637'));
    assert.equal(partitionOf('k1'), 11);
  });

  it('puts partition p on nodes[p mod N]', () => {
    assert.equal(createPartition16(['n0', 'n1', 'n2']).lookup('k1'), 'n2');
    assert.equal(createPartition16(['n0', 'n1', 'n2', 'n3']).lookup('k1'), 'n3');
    for (const key of keys.slice(0, 1_000)) {
      const p = parseInt(createHash('md5').update(key).digest('hex')[0] as string, 16);
      assert.equal(createPartition16(nodeIds(5)).lookup(key), `node-${(p % 5) + 1}`);
    }
  });
});

describe('createRouter', () => {
  it('builds either scheme behind one interface', () => {
    const ring = createRouter('ring', nodeIds(4));
    const partitions = createRouter('partition16', ['n0', 'n1', 'n2']);
    assert.deepEqual(ring.nodes, nodeIds(4));
    assert.equal(ring.lookup('k1'), 'node-3');
    assert.equal(partitions.lookup('k1'), 'n2');
    assert.throws(() => createRouter('nope' as 'ring', ['a']), /router kind/);
    assert.throws(() => createRouter('partition16', []), /at least one node/);
  });
});
