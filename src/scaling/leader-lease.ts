import type { Db } from '../db/database.js';

/** The lease a leader holds: its generation fences every membership write it makes. */
export type Lease = { holder: string; generation: number };

/** A membership write of a leader that is no longer the lease's holder (or generation). */
export class FencedError extends Error {
  constructor(lease: Lease) {
    super(`${lease.holder} no longer leads the pool (generation ${lease.generation} was superseded)`);
  }
}

/**
 * The leader lease in the PoolState row: one holder at a time, expiring `ttlMs` after its
 * last renewal, so a crashed leader is replaced once it lapses. Each new holder gets the
 * next generation; membership writes carry it (pool-membership.ts), so a deposed leader that
 * wakes up late cannot overwrite what its successor recorded. `now`: the clock leases are
 * dated by (every holder's must agree).
 */
export function createLeaderLease({ db, holder, ttlMs, now = () => new Date() }: { db: Db; holder: string; ttlMs: number; now?: () => Date }) {
  const expiry = () => new Date(now().getTime() + ttlMs);
  let held: Lease | undefined;

  async function acquire(): Promise<Lease | undefined> {
    await db.poolState.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
    const { count } = await db.poolState.updateMany({
      // Our own lease too: after a renewal we could not confirm, we take it back under a new generation.
      where: { id: 1, OR: [{ leaderId: null }, { leaderId: holder }, { leaseExpiresAt: null }, { leaseExpiresAt: { lt: now() } }] },
      data: { leaderId: holder, leaderGeneration: { increment: 1 }, leaseExpiresAt: expiry() },
    });
    if (count === 0) return undefined;
    const row = await db.poolState.findUniqueOrThrow({ where: { id: 1 }, select: { leaderGeneration: true, leaderId: true } });
    // Nobody can take an unexpired lease, so the row still names us; checked all the same.
    return row.leaderId === holder ? { holder, generation: row.leaderGeneration } : undefined;
  }

  async function renew(lease: Lease): Promise<boolean> {
    const { count } = await db.poolState.updateMany({
      where: { id: 1, leaderId: lease.holder, leaderGeneration: lease.generation },
      data: { leaseExpiresAt: expiry() },
    });
    return count === 1;
  }

  return {
    /** The lease this process holds, if it holds one. */
    current: () => held,
    /** Renews the lease we hold, or takes a free or lapsed one; returns what we hold afterwards. */
    async refresh(): Promise<Lease | undefined> {
      held = held && (await renew(held)) ? held : await acquire();
      return held;
    },
    /** Forgets the lease without a database write (it was lost, or the write failed). */
    drop() {
      held = undefined;
    },
    /** Hands the lease back at a clean shutdown, so a standby takes over at once instead of after the TTL. */
    async release(): Promise<void> {
      const lease = held;
      held = undefined;
      if (!lease) return;
      await db.poolState.updateMany({
        where: { id: 1, leaderId: lease.holder, leaderGeneration: lease.generation },
        data: { leaderId: null, leaseExpiresAt: null },
      });
    },
  };
}

export type LeaderLease = ReturnType<typeof createLeaderLease>;
