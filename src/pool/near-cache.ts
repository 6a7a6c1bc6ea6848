import { LRUCache } from 'lru-cache';
import { entrySize, type CacheValue } from '../cache/cache-types.js';

/**
 * Hot images a web process keeps in front of remote cache nodes, bounded in bytes (LRU).
 * A copy here is never served on its own word: the pool sends its ETag to the owner node
 * on every look-up, and uses the copy only when the node answers 304 (still current), or
 * when the database row names the same version (refilling a node that lost the entry).
 */
export interface NearCache {
  get(key: string): CacheValue | undefined;
  set(key: string, value: CacheValue): void;
  delete(key: string): void;
  clear(): void;
}

/** A near cache of `budgetBytes`, or undefined when the budget is 0 (turned off). */
export function createNearCache(budgetBytes: number): NearCache | undefined {
  if (budgetBytes <= 0) return undefined;
  const lru = new LRUCache<string, CacheValue>({ maxSize: budgetBytes, sizeCalculation: (value, key) => entrySize(key, value) });
  return {
    get: (key) => lru.get(key),
    // An entry over the budget is not kept, and lru-cache drops the older copy under its key.
    set: (key, value) => void lru.set(key, value),
    delete: (key) => void lru.delete(key),
    clear: () => lru.clear(),
  };
}
