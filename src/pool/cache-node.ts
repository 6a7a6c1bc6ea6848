import type { CacheStats } from '../cache/cache-stats.js';
import type { CacheConfig, CacheEntry, CacheValue } from '../cache/cache-types.js';

/**
 * One cache node as the pool sees it, whatever the transport: a shard inside
 * this process or a cache-role process over HTTP. Every call may reject (a
 * remote node can fail or time out); the pool turns failures into misses.
 */
export interface CacheNode {
  readonly id: string;
  /**
   * A counted GET lookup (`lookups` of them, answered at once). With `current` (a copy the
   * caller holds), a remote node sends no bytes when that copy is still the stored version
   * and the call returns `current`.
   */
  get(key: string, current?: CacheValue, lookups?: number): Promise<CacheValue | undefined>;
  /** A lookup that neither counts nor changes recency (reads during a migration). */
  peek(key: string, current?: CacheValue): Promise<CacheValue | undefined>;
  put(key: string, value: CacheValue): Promise<boolean>;
  invalidate(key: string): Promise<void>;
  clear(): Promise<void>;
  reconfigure(config: CacheConfig): Promise<void>;
  stats(): Promise<CacheStats>;
  /** Resident keys, least recently used first. */
  keys(): Promise<string[]>;
  /** The entries for these keys (those still resident), in the order given. */
  exportEntries(keys: readonly string[]): Promise<CacheEntry[]>;
  /** Stores the entries in order (the last is the most recent); returns how many were stored. */
  importEntries(entries: readonly CacheEntry[]): Promise<number>;
  removeEntries(keys: readonly string[]): Promise<number>;
  health(): Promise<boolean>;
  /** Releases connections; the node itself keeps running. */
  close(): Promise<void>;
}
