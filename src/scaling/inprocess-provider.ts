import { createCacheStore } from '../cache/cache-store.js';
import { DEFAULT_CACHE_CONFIG } from '../cache/cache-types.js';
import type { CacheNode } from '../pool/cache-node.js';
import { createInProcessCacheNode } from '../pool/inprocess-cache-node.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';

export const INPROCESS_ADDRESS = 'inprocess';

type Shard = { provided: ProvidedNode; node: CacheNode };

/**
 * Shards inside this process. `connect` hands out the one node object per shard, so the
 * pool and the stats publisher count on the same store. Like a cache process, a shard
 * starts with the defaults; the pool controller sends it the shared configuration.
 */
export function createInProcessProvider(): NodeProvider {
  const shards = new Map<string, Shard>();

  return {
    kind: 'inprocess',
    list: async () => [...shards.values()].map(({ provided }) => ({ ...provided })),
    async start(id) {
      const running = shards.get(id);
      if (running) return { ...running.provided };
      const store = createCacheStore(DEFAULT_CACHE_CONFIG);
      const provided: ProvidedNode = { id, instanceId: null, address: INPROCESS_ADDRESS };
      shards.set(id, { provided, node: createInProcessCacheNode(id, store) });
      return { ...provided };
    },
    async stop(id) {
      shards.delete(id);
    },
    connect({ id, address }) {
      const shard = shards.get(id);
      if (!shard) {
        throw new Error(
          `cache node ${id} (${address}) is not hosted by this process: an in-process shard can only be reached from the process that started it`,
        );
      }
      return shard.node;
    },
    async close() {
      shards.clear();
    },
  };
}
