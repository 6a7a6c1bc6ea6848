import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheConfig } from '../cache/cache-types.js';
import type { Db } from '../db/database.js';
import { AppError } from '../http/app-error.js';
import { readPoolState, writeDesiredCacheConfig, writeDesiredSize, type SizeChange } from './desired-state.js';
import type { ResizeOutcome, ResizeRequest } from './pool-controller.js';
import { countOf, poolTitle, type PoolBounds, type PoolName } from './pool-name.js';

type Deps = {
  db: Db;
  pool: PoolName;
  bounds: PoolBounds;
  /** How long a call waits for the leader to apply its change; 0: it only records it (a scaler). */
  waitMs: number;
  /** Told after each write (the leader of this process, if it is one, then applies it at once). */
  written?: () => void;
  /** Run once the change is applied, so this process routes to the new membership before it answers. */
  applied?: () => Promise<void>;
};

/**
 * How every process asks for a change of one pool: one desired-state write, then a bounded
 * wait for the leader to apply it. The answer says plainly when the pool did not get there.
 */
export function createPoolRequests({ db, pool, bounds, waitMs, written, applied }: Deps) {
  const title = poolTitle(pool);
  const count = (n: number) => countOf(pool, n);
  const activeCount = () => db.poolNode.count({ where: { pool, state: 'active' } });

  async function settle(version: number): Promise<{ size: number }> {
    written?.();
    const deadline = Date.now() + waitMs;
    for (;;) {
      const [state, size] = await Promise.all([readPoolState(db, pool), activeCount()]);
      const desired = state?.desiredSize ?? size;
      if (state && state.appliedVersion >= version) {
        if (state.applyNote) throw new AppError(503, `${title} has ${count(size)}, not the ${desired} asked for: ${state.applyNote}`);
        if (size === desired) {
          await applied?.();
          return { size };
        }
        // A later change is being applied; ours is part of it.
      }
      if (Date.now() >= deadline) {
        if (waitMs === 0) return { size };
        const leading = state?.leaderId && state.leaseExpiresAt && state.leaseExpiresAt.getTime() > Date.now();
        throw new AppError(
          503,
          leading
            ? `the change is recorded (${count(desired)} wanted, ${size} running) but the leader manager has not applied it within ${waitMs / 1000} s; ${pool === 'cache' ? 'the pool page' : 'the workers page'} shows it as pending`
            : `no manager leads ${title} right now: the change is recorded (${count(desired)} wanted, ${size} running) and will be applied when one takes over`,
        );
      }
      await sleep(100);
    }
  }

  async function change(sizeChange: SizeChange, request: ResizeRequest): Promise<ResizeOutcome> {
    const write = await writeDesiredSize(db, pool, sizeChange, request, bounds);
    if (waitMs === 0) return { from: write.from, to: write.to, message: `asked for ${count(write.to)} (was ${write.from})` };
    const { size } = await settle(write.version);
    const message = write.from === write.to ? `${title} already has ${count(size)}` : `${title} went from ${count(write.from)} to ${count(size)}`;
    return { from: write.from, to: size, message };
  }

  return {
    pool,
    bounds,
    /** The desired size (what the pool is, or is being brought to). */
    async size(): Promise<number> {
      return (await readPoolState(db, pool))?.desiredSize ?? (await activeCount());
    },
    /** Running members as recorded. */
    actual: activeCount,
    resize: (target: number, request: ResizeRequest) => change({ to: target }, request),
    step: (by: 1 | -1, request: ResizeRequest) => change({ by }, request),
    /** Takes one chosen member out (404 for an unknown id, 400 below the minimum); the pool shrinks by one. */
    async removeMember(id: string, request: ResizeRequest): Promise<ResizeOutcome> {
      const outcome = await change({ stop: id }, request);
      return { ...outcome, message: `stopped ${id}: ${outcome.message}` };
    },
    /** The shared cache configuration (cache pool only), sent by the leader to every node and every node that joins. */
    async configure(config: CacheConfig): Promise<void> {
      if (pool !== 'cache') throw new Error('only the cache pool has a cache configuration');
      await settle(await writeDesiredCacheConfig(db, config));
    },
  };
}

export type PoolRequests = ReturnType<typeof createPoolRequests>;
