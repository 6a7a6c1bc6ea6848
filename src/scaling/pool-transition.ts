import type { FastifyBaseLogger } from 'fastify';
import type { CacheConfig } from '../cache/cache-types.js';
import type { Db } from '../db/database.js';
import type { CachePool } from '../pool/cache-pool.js';
import type { MigrationReport } from '../pool/migrate-entries.js';
import type { Lease } from './leader-lease.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';
import type { PoolMembers } from './pool-members.js';
import { commitMembership } from './pool-membership.js';

type Deps = { db: Db; pool: CachePool; members: PoolMembers; provider: NodeProvider; log: FastifyBaseLogger };

/**
 * The leader's two moves on the pool. Entries move before membership changes, a leaving node
 * stops only after its entries moved, and a joining node runs the shared configuration before
 * it takes a key.
 */
export function createPoolTransition({ db, pool, members, provider, log }: Deps) {
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

  /** Routes to `next`, records it under the lease, then stops who left; on failure nothing is recorded and what started is stopped. */
  async function move(lease: Lease, current: ProvidedNode[], next: ProvidedNode[], joined: ProvidedNode[]): Promise<MigrationReport> {
    const leaving = current.filter((m) => !next.some((n) => n.id === m.id));
    let report;
    try {
      report = await pool.resize(next.map(members.clientFor));
      await commitMembership(db, lease, joined, leaving.map((m) => m.id));
    } catch (err) {
      await members.refollow().catch(() => undefined);
      await Promise.all(joined.map((n) => provider.stop(n.id).catch(() => undefined)));
      throw err;
    }
    await Promise.all(leaving.map((m) => provider.stop(m.id).catch((err) => log.warn({ err, node: m.id }, 'node did not stop cleanly'))));
    return report;
  }

  return { startConfigured, move };
}

export type PoolTransition = ReturnType<typeof createPoolTransition>;
