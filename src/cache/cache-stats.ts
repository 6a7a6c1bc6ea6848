import type { CachePolicy } from './cache-types.js';

/** Cumulative counters of one node since it started; publishers diff successive snapshots. */
export interface CacheCounters {
  /** GET lookups (hits + misses). */
  lookups: number;
  hits: number;
  misses: number;
  /** Every put request, including those rejected as too large. */
  puts: number;
  /** Entries removed to make room (on put, import or shrinking reconfigure). */
  evictions: number;
  /** Puts and imports not stored because the entry alone exceeds the capacity. */
  rejectedTooLarge: number;
  /** Every operation served except reading stats or config. */
  requests: number;
}

export interface CacheStats extends CacheCounters {
  items: number;
  bytes: number;
  capacityBytes: number;
  policy: CachePolicy;
}

export function createCacheCounters(): CacheCounters {
  return { lookups: 0, hits: 0, misses: 0, puts: 0, evictions: 0, rejectedTooLarge: 0, requests: 0 };
}

/** misses / GET lookups; 0 when there were no lookups (an idle node is not missing). */
export function missRate({ misses, lookups }: Pick<CacheCounters, 'misses' | 'lookups'>): number {
  return lookups === 0 ? 0 : misses / lookups;
}

/** hits / GET lookups; 0 when there were no lookups. */
export function hitRate({ hits, lookups }: Pick<CacheCounters, 'hits' | 'lookups'>): number {
  return lookups === 0 ? 0 : hits / lookups;
}
