import type { CacheCounters, CacheStats } from '../cache/cache-stats.js';
import type { NodeSample } from './metrics-sink.js';

const counterNames = ['lookups', 'hits', 'misses', 'puts', 'evictions', 'rejectedTooLarge', 'requests'] as const;

export function countersOf(stats: CacheCounters): CacheCounters {
  const counters = {} as CacheCounters;
  for (const name of counterNames) counters[name] = stats[name];
  return counters;
}

/**
 * The sample for one node between two cumulative snapshots. Without a previous
 * snapshot the counters since the node started are the delta. Counters only grow while
 * a node lives, so any counter going down means it restarted in between: then every
 * counter is taken as is (they all restarted together), never a negative delta.
 */
export function sampleBetween(nodeId: string, at: Date, previous: CacheCounters | undefined, current: CacheStats): NodeSample {
  const restarted = !previous || counterNames.some((name) => current[name] < previous[name]);
  const delta = (name: (typeof counterNames)[number]): number => (restarted ? current[name] : current[name] - previous[name]);
  return {
    nodeId,
    at,
    lookups: delta('lookups'),
    hits: delta('hits'),
    misses: delta('misses'),
    puts: delta('puts'),
    requests: delta('requests'),
    evictions: delta('evictions'),
    rejected: delta('rejectedTooLarge'),
    items: current.items,
    bytes: current.bytes,
  };
}
