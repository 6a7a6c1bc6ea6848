// (e) Hit rate right after a resize, with migration (CachePool.resize) and without
// (CachePool.follow: the new routing, nothing moved, i.e. a cold start for every key
// whose owner changed). In process: a read-through loop over a pool of in-process
// nodes, filling on every miss, on a Zipf(s) workload whose hot set fits the pool.
import { pino } from 'pino';
import { createCacheStore } from '../src/cache/cache-store.js';
import type { CacheValue } from '../src/cache/cache-types.js';
import { createCachePool, type CachePool } from '../src/pool/cache-pool.js';
import { createInProcessCacheNode } from '../src/pool/inprocess-cache-node.js';
import { atLeast, fixed, median, percent } from './bench-stats.js';
import type { Bench, BenchOutcome } from './bench-types.js';
import { seededRandom, zipfSampler } from './zipf.js';

const KEYS = 5000;
const VALUE_BYTES = 10 * 1024;
const ZIPF_S = 1.0;
/** Per node: 4 nodes hold about 3 200 of the 5 000 images (the hot set), 5 nodes about 4 000. */
const NODE_MB = 8;
const WARMUP = 100_000;
/** Look-ups measured before the resize, and the same number right after it. */
const WINDOW = 20_000;
/** The first look-ups after the resize, where a cold pool hurts most. */
const FIRST = 1_000;
const TARGET = 0.95;

type Scenario = { name: string; from: number; to: number; migrate: boolean };
const SCENARIOS: Scenario[] = [
  { name: 'migrate 4→5', from: 4, to: 5, migrate: true },
  { name: 'cold 4→5', from: 4, to: 5, migrate: false },
  { name: 'migrate 5→4', from: 5, to: 4, migrate: true },
  { name: 'cold 5→4', from: 5, to: 4, migrate: false },
];

type Run = { before: number; after: number; firstAfter: number; moved: number };
type ScenarioResult = Scenario & { runs: Run[]; before: number; after: number; ratio: number; firstRatio: number; moved: number };

// One buffer for every key: the store charges byteLength, and the benchmark needs no 50 MB of copies.
const value: CacheValue = { bytes: Buffer.alloc(VALUE_BYTES, 7), contentType: 'image/png', etag: '"bench"' };
const keys = Array.from({ length: KEYS }, (_, i) => `image-${i}`);
const log = pino({ level: 'silent' });

/** Hit rate of `count` read-through look-ups: a miss puts the image, as the web tier does. */
async function lookups(pool: CachePool, draw: () => number, count: number): Promise<number> {
  let hits = 0;
  for (let i = 0; i < count; i++) {
    const key = keys[draw()]!;
    if (await pool.get(key)) hits++;
    else await pool.put(key, value);
  }
  return hits / count;
}

async function runScenario({ from, to, migrate }: Scenario, seed: number): Promise<Run> {
  const nodes = Array.from({ length: Math.max(from, to) }, (_, i) =>
    createInProcessCacheNode(`node-${i + 1}`, createCacheStore({ capacityMb: NODE_MB, policy: 'LRU' })),
  );
  // As the controller does: growth appends a node, shrinking drops the newest.
  const pool = createCachePool({ nodes: nodes.slice(0, from), routing: 'ring', log });
  const draw = zipfSampler(KEYS, ZIPF_S, seededRandom(seed));
  try {
    await lookups(pool, draw, WARMUP);
    const before = await lookups(pool, draw, WINDOW);
    let moved = 0;
    if (migrate) moved = (await pool.resize(nodes.slice(0, to))).moved;
    else await pool.follow(nodes.slice(0, to));
    const firstAfter = await lookups(pool, draw, FIRST);
    const rest = await lookups(pool, draw, WINDOW - FIRST);
    return { before, after: (firstAfter * FIRST + rest * (WINDOW - FIRST)) / WINDOW, firstAfter, moved };
  } finally {
    await pool.close();
  }
}

export const resizeHitRateBench: Bench = {
  id: 'e',
  name: 'hit rate after a resize',
  async run({ runs }): Promise<BenchOutcome> {
    const results: ScenarioResult[] = [];
    for (const scenario of SCENARIOS) {
      const perRun: Run[] = [];
      // The same seeds for every scenario: migrate and cold see the very same look-ups.
      for (let run = 0; run < runs; run++) perRun.push(await runScenario(scenario, run + 1));
      results.push({
        ...scenario,
        runs: perRun,
        before: median(perRun.map((r) => r.before)),
        after: median(perRun.map((r) => r.after)),
        ratio: median(perRun.map((r) => r.after / r.before)),
        firstRatio: median(perRun.map((r) => r.firstAfter / r.before)),
        moved: median(perRun.map((r) => r.moved)),
      });
    }
    // What the new size settles at: the hit rate before a resize that starts from that size.
    const steadyAt = (nodes: number) => median(results.filter((r) => r.from === nodes).map((r) => r.before));
    return {
      heading:
        `hit rate after a resize, Zipf s=${ZIPF_S} over ${KEYS} × ${VALUE_BYTES / 1024} KB, ${NODE_MB} MB/node LRU, ` +
        `${WINDOW.toLocaleString('en')} look-ups before vs after, median of ${runs} seeds`,
      rows: results.map((r) => ({
        scenario: r.name,
        'hit rate before': percent(r.before),
        'hit rate after': percent(r.after),
        'steady at new size': percent(steadyAt(r.to)),
        'after/before': fixed(r.ratio, 3),
        [`first ${FIRST / 1000}k after/before`]: fixed(r.firstRatio, 3),
        'entries moved': r.moved,
        target: r.migrate ? `≥ ${TARGET}` : 'none (baseline)',
      })),
      verdicts: results.filter((r) => r.migrate).map((r) => atLeast(`${r.name} after/before`, r.ratio, TARGET)),
      notes: [
        `in process, read-through (a miss puts the image); warm-up ${WARMUP.toLocaleString('en')} look-ups; resize with no look-ups running`,
        'cold = pool.follow(next): the new routing without moving entries',
      ],
      data: { keys: KEYS, valueBytes: VALUE_BYTES, zipfS: ZIPF_S, nodeMb: NODE_MB, warmup: WARMUP, window: WINDOW, first: FIRST, results },
    };
  },
};
