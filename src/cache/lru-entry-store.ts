import { LRUCache } from 'lru-cache';
import { entrySize, type CacheEntry, type CacheValue } from './cache-types.js';
import type { EntryStore, EntryStoreOptions } from './entry-store.js';

export function createLruEntryStore({ capacityBytes, onEvict }: EntryStoreOptions): EntryStore {
  const cache = new LRUCache<string, CacheValue>({
    maxSize: capacityBytes,
    sizeCalculation: (value, key) => entrySize(key, value),
    // lru-cache also disposes on overwrite ('set') and delete/clear ('delete'); only
    // making room counts as an eviction.
    dispose: (_value, _key, reason) => {
      if (reason === 'evict') onEvict();
    },
  });

  return {
    get items() {
      return cache.size;
    },
    get bytes() {
      return cache.calculatedSize;
    },
    get: (key) => cache.get(key),
    peek: (key) => cache.peek(key),
    has: (key) => cache.has(key),
    set: (key, value) => {
      cache.set(key, value);
    },
    delete: (key) => cache.delete(key),
    clear: () => cache.clear(),
    *entries(): IterableIterator<CacheEntry> {
      // lru-cache types rentries() loosely as (K | V)[]; it yields [key, value] pairs.
      const pairs = cache.rentries() as Generator<[string, CacheValue]>;
      for (const [key, value] of pairs) yield { key, value };
    },
  };
}
