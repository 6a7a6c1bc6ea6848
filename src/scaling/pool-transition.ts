import type { CacheConfig } from '../cache/cache-types.js';
import { loadSharedCacheConfig } from '../cache/shared-cache-config.js';
import type { Db } from '../db/database.js';
import type { CachePool } from '../pool/cache-pool.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';
import type { PoolSteps } from './pool-convergence.js';
import type { PoolMembers } from './pool-members.js';

type Deps = { db: Db; pool: CachePool; members: PoolMembers; provider: NodeProvider };

/**
 * The cache pool's own steps. Entries move before membership changes (a leaving node stops
 * only after its entries moved), and a joining node runs the shared configuration before it
 * takes a key.
 */
export function cachePoolSteps({ db, pool, members, provider }: Deps): PoolSteps {
  /** A node starts with defaults; it serves the pool only once it runs the shared configuration. */
  async function startConfigured(id: string, config: CacheConfig): Promise<ProvidedNode> {
    const started = await provider.start(id);
    try {
      await members.withClient(started, (node) => node.reconfigure(config));
    } catch (err) {
      await provider.stop(id).catch(() => undefined);
      throw new Error(`cache node ${id} started but did not take the configuration: ${(err as Error).message}`, { cause: err });
    }
    return started;
  }

  return {
    start: async (id) => startConfigured(id, await loadSharedCacheConfig(db)),
    probe: (member) => members.withClient(member, (node) => node.health()),
    // The data migration: entries move to their new owners before the new membership is recorded.
    route: async (next) => void (await pool.resize(next.map(members.clientFor))),
    reroute: () => members.refollow(),
    async refresh({ changed, checkHealth }) {
      await members.refollow();
      if (!changed && !checkHealth) return [];
      // Taking the same configuration again changes nothing on a node; a node that restarted in place gets it back.
      const error = await pool.reconfigure(await loadSharedCacheConfig(db)).then(
        () => undefined,
        (err: Error) => err,
      );
      return error ? [`not every node took the cache configuration: ${error.message}`] : [];
    },
    exclusive: (work) => members.exclusive(work),
  };
}
