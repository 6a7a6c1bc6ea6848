import type { CacheStore } from '../cache/cache-store.js';
import type { CacheEntry } from '../cache/cache-types.js';
import type { CacheNode } from './cache-node.js';

/**
 * A shard inside this process behind the same async interface as a remote node.
 * Values are handed over as stored, never copied: callers treat them as read-only.
 * Errors (a bad config) surface as rejections, as they would over HTTP.
 */
export function createInProcessCacheNode(id: string, store: CacheStore): CacheNode {
  return {
    id,
    get: async (key, _current, lookups) => store.get(key, lookups),
    peek: async (key) => store.peek(key),
    put: async (key, value) => store.put(key, value),
    invalidate: async (key) => {
      store.invalidate(key);
    },
    clear: async () => store.clear(),
    reconfigure: async (config) => store.reconfigure(config),
    stats: async () => store.stats(),
    keys: async () => store.exportEntries().map(({ key }) => key),
    exportEntries: async (keys) => {
      const entries: CacheEntry[] = [];
      // peek, like the HTTP node's /export: a migration read is neither a lookup nor a use.
      for (const key of keys) {
        const value = store.peek(key);
        if (value !== undefined) entries.push({ key, value });
      }
      return entries;
    },
    importEntries: async (entries) => store.importEntries(entries),
    removeEntries: async (keys) => store.removeEntries(keys),
    health: async () => true,
    close: async () => {},
  };
}
