// (d) Routing: how many of 100 000 keys change owner when the pool grows by one node,
// against the ideal 1/(n+1) (only the newcomer's share), and how evenly keys spread
// (max/mean keys per node). Pure computation with the product's router; node ids and
// their order are the controller's (node-1, node-2, … appended on growth).
import { createRouter, type RouterKind } from '../src/pool/router.js';
import { atMost, fixed, percent } from './bench-stats.js';
import type { Bench, BenchOutcome } from './bench-types.js';

const KEYS = 100_000;
const MAX_NODES = 8;
const RING_MOVED_TARGET = 1.15;

type Size = { nodes: number; maxOverMean: number };
type Step = { from: number; to: number; moved: number; ideal: number; ratio: number };
export type RoutingResult = { kind: RouterKind; sizes: Size[]; steps: Step[] };

function route(kind: RouterKind, keys: readonly string[]): RoutingResult {
  const ownersAt: string[][] = [];
  const sizes: Size[] = [];
  for (let n = 1; n <= MAX_NODES; n++) {
    const router = createRouter(kind, Array.from({ length: n }, (_, i) => `node-${i + 1}`));
    const owners = keys.map((key) => router.lookup(key));
    const load = new Map<string, number>();
    for (const owner of owners) load.set(owner, (load.get(owner) ?? 0) + 1);
    sizes.push({ nodes: n, maxOverMean: Math.max(...load.values()) / (keys.length / n) });
    ownersAt.push(owners);
  }
  const steps = ownersAt.slice(1).map((after, i): Step => {
    const before = ownersAt[i]!;
    const moved = after.filter((owner, k) => owner !== before[k]).length / keys.length;
    const ideal = 1 / (i + 2);
    return { from: i + 1, to: i + 2, moved, ideal, ratio: moved / ideal };
  });
  return { kind, sizes, steps };
}

export const routingBench: Bench = {
  id: 'd',
  name: 'routing: keys moved and balance',
  async run(): Promise<BenchOutcome> {
    const keys = Array.from({ length: KEYS }, (_, i) => `image-${i}`);
    const [ring, p16] = (['ring', 'partition16'] as const).map((kind) => route(kind, keys)) as [RoutingResult, RoutingResult];
    const rows = ring.steps.map((step, i) => ({
      resize: `${step.from}→${step.to}`,
      ideal: percent(step.ideal),
      'ring moved': percent(step.moved),
      'ring ×ideal': fixed(step.ratio),
      'p16 moved': percent(p16.steps[i]!.moved),
      'p16 ×ideal': fixed(p16.steps[i]!.ratio),
      'ring max/mean after': fixed(ring.sizes[i + 1]!.maxOverMean),
      'p16 max/mean after': fixed(p16.sizes[i + 1]!.maxOverMean),
    }));
    const worst = Math.max(...ring.steps.map((s) => s.ratio));
    return {
      heading: `routing, ${KEYS.toLocaleString('en')} keys, 1→${MAX_NODES} nodes: ring (MD5, 160 points/node) vs 16 partitions`,
      rows,
      verdicts: [atMost('ring keys moved, worst step ×ideal', worst, RING_MOVED_TARGET)],
      notes: ['max/mean = keys on the busiest node / keys per node if spread evenly (1.00 is perfect)'],
      data: { keys: KEYS, ring, partition16: p16 },
    };
  },
};
