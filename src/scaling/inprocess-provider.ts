import { createCacheStore } from '../cache/cache-store.js';
import type { CacheConfig } from '../cache/cache-types.js';
import type { StatsSource } from '../metrics/stats-publisher.js';
import type { CacheNode } from '../pool/cache-node.js';
import { createInProcessCacheNode } from '../pool/inprocess-cache-node.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';

export const INPROCESS_ADDRESS = 'inprocess';

export type InProcessProviderDeps = {
  /** The shared cache configuration (from the database), read for every node started. */
  loadConfig: () => Promise<CacheConfig>;
};

type Shard = { provided: ProvidedNode; node: CacheNode; source: StatsSource };

/**
 * Shards inside this process. `connect` hands out the one node object per shard, so the
 * pool and the stats publisher count on the same store.
 */
export function createInProcessProvider({ loadConfig }: InProcessProviderDeps): NodeProvider {
  const shards = new Map<string, Shard>();

  return {
    kind: 'inprocess',
    list: async () => [...shards.values()].map(({ provided }) => ({ ...provided })),
    async start(id) {
      const running = shards.get(id);
      if (running) return { ...running.provided };
      const store = createCacheStore(await loadConfig());
      // Re-checked after the await: a concurrent start of the same id must not replace a live store.
      const raced = shards.get(id);
      if (raced) return { ...raced.provided };
      const provided: ProvidedNode = { id, instanceId: null, address: INPROCESS_ADDRESS };
      shards.set(id, { provided, node: createInProcessCacheNode(id, store), source: { nodeId: id, stats: () => store.stats() } });
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
    hosted: () => [...shards.values()].map(({ source }) => source),
    async close() {
      shards.clear();
    },
  };
}
