import { createCacheCounters, type CacheStats } from './cache-stats.js';
import {
  assertValidCacheConfig,
  capacityBytesOf,
  entrySize,
  type CacheConfig,
  type CacheEntry,
  type CacheValue,
} from './cache-types.js';
import type { EntryStore } from './entry-store.js';
import { createLruEntryStore } from './lru-entry-store.js';
import { createRandomReplacementStore } from './random-replacement-store.js';
import { shrinkToFit } from './shrink-to-fit.js';

export interface CacheStoreOptions extends CacheConfig {
  /** Uniform in [0, 1), used by the RR policy; defaults to Math.random. */
  random?: () => number;
}

/** The in-memory store of one cache node, bounded in bytes. */
export interface CacheStore {
  /** A GET lookup: counted as a hit or a miss, and marks the entry as used. */
  get(key: string, lookups?: number): CacheValue | undefined;
  /** For migration reads: no lookup counted, no change of recency. */
  peek(key: string): CacheValue | undefined;
  /**
   * Stores the value, evicting by policy if needed. An entry larger than the whole
   * capacity is not stored: it is counted in `rejectedTooLarge`, any older copy under
   * that key is dropped (it would be stale), and `false` is returned.
   */
  put(key: string, value: CacheValue): boolean;
  invalidate(key: string): boolean;
  clear(): void;
  /** Keeps what still fits; shrinking evicts by the new policy (LRU oldest first, RR random). */
  reconfigure(config: CacheConfig): void;
  stats(): CacheStats;
  config(): CacheConfig;
  /** Least recently used first (RR keeps use order too, though it does not evict by it). */
  exportEntries(filter?: (key: string) => boolean): CacheEntry[];
  /**
   * Stores entries in order, so the last one imported is the most recent. Keys already
   * resident are skipped: that copy was put after the pool changed, so it is at least as
   * new as the migrated one. Returns how many entries were stored.
   */
  importEntries(entries: Iterable<CacheEntry>): number;
  /** Removes keys (after they moved elsewhere); not evictions. Returns how many were resident. */
  removeEntries(keys: Iterable<string>): number;
}

export function createCacheStore(options: CacheStoreOptions): CacheStore {
  const { random = Math.random } = options;
  let current: CacheConfig = { capacityMb: options.capacityMb, policy: options.policy };
  assertValidCacheConfig(current);
  const counters = createCacheCounters();
  const onEvict = (): void => {
    counters.evictions++;
  };
  let store = createEntryStore(current);

  function createEntryStore({ capacityMb, policy }: CacheConfig): EntryStore {
    const capacityBytes = capacityBytesOf(capacityMb);
    return policy === 'LRU'
      ? createLruEntryStore({ capacityBytes, onEvict })
      : createRandomReplacementStore({ capacityBytes, onEvict, random });
  }

  function fits(key: string, value: CacheValue): boolean {
    if (entrySize(key, value) <= capacityBytesOf(current.capacityMb)) return true;
    counters.rejectedTooLarge++;
    return false;
  }

  return {
    // `lookups` > 1: one request answering several look-ups (a web tier's shared revalidation).
    get(key, lookups = 1) {
      counters.requests++;
      counters.lookups += lookups;
      const value = store.get(key);
      if (value === undefined) counters.misses += lookups;
      else counters.hits += lookups;
      return value;
    },
    peek(key) {
      counters.requests++;
      return store.peek(key);
    },
    put(key, value) {
      counters.requests++;
      counters.puts++;
      if (!fits(key, value)) {
        store.delete(key);
        return false;
      }
      store.set(key, value);
      return true;
    },
    invalidate(key) {
      counters.requests++;
      return store.delete(key);
    },
    clear() {
      counters.requests++;
      store.clear();
    },
    reconfigure(config) {
      const next: CacheConfig = { capacityMb: config.capacityMb, policy: config.policy };
      assertValidCacheConfig(next);
      // The manager re-sends the configuration on every reconcile: a check, not a request served.
      if (next.capacityMb === current.capacityMb && next.policy === current.policy) return;
      counters.requests++;
      // lru-cache cannot resize in place, so every change rebuilds; victims are chosen
      // up front so the new store never has to evict while it is being filled.
      const capacityBytes = capacityBytesOf(next.capacityMb);
      const { kept, evicted } = shrinkToFit([...store.entries()], capacityBytes, next.policy, random);
      counters.evictions += evicted;
      current = next;
      store = createEntryStore(next);
      for (const { key, value } of kept) store.set(key, value);
    },
    stats() {
      return {
        ...counters,
        items: store.items,
        bytes: store.bytes,
        capacityBytes: capacityBytesOf(current.capacityMb),
        policy: current.policy,
      };
    },
    config: () => ({ ...current }),
    exportEntries(filter) {
      counters.requests++;
      const entries = [...store.entries()];
      return filter ? entries.filter(({ key }) => filter(key)) : entries;
    },
    importEntries(entries) {
      counters.requests++;
      let stored = 0;
      for (const { key, value } of entries) {
        if (store.has(key) || !fits(key, value)) continue;
        store.set(key, value);
        stored++;
      }
      return stored;
    },
    removeEntries(keys) {
      counters.requests++;
      let removed = 0;
      for (const key of keys) if (store.delete(key)) removed++;
      return removed;
    },
  };
}
