import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheConfig } from '../cache/cache-types.js';
import type { Db } from '../db/database.js';
import { AppError } from '../http/app-error.js';
import { plural, readPoolState, writeDesiredCacheConfig, writeDesiredSize, type PoolBounds, type SizeChange } from './desired-state.js';
import type { ResizeOutcome, ResizeRequest } from './pool-controller.js';

type Deps = {
  db: Db;
  bounds: PoolBounds;
  /** How long a call waits for the leader to apply its change; 0: it only records it (the scaler). */
  waitMs: number;
  /** Told after each write (the leader of this process, if it is one, then applies it at once). */
  written?: () => void;
  /** Run once the change is applied, so this process routes to the new membership before it answers. */
  applied?: () => Promise<void>;
};

const activeCount = (db: Db) => db.poolNode.count({ where: { state: 'active' } });

/**
 * How every process asks for a change of the pool: one desired-state write, then a bounded
 * wait for the leader to apply it. The answer says plainly when the pool did not get there.
 */
export function createPoolRequests({ db, bounds, waitMs, written, applied }: Deps) {
  async function settle(version: number): Promise<{ size: number }> {
    written?.();
    const deadline = Date.now() + waitMs;
    for (;;) {
      const [state, size] = await Promise.all([readPoolState(db), activeCount(db)]);
      const desired = state?.desiredSize ?? size;
      if (state && state.appliedVersion >= version) {
        if (state.applyNote) throw new AppError(503, `the pool has ${plural(size)}, not the ${desired} asked for: ${state.applyNote}`);
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
            ? `the change is recorded (${plural(desired)} wanted, ${size} running) but the leader manager has not applied it within ${waitMs / 1000} s; the pool page shows it as pending`
            : `no manager leads the pool right now: the change is recorded (${plural(desired)} wanted, ${size} running) and will be applied when one takes over`,
        );
      }
      await sleep(100);
    }
  }

  async function change(sizeChange: SizeChange, request: ResizeRequest): Promise<ResizeOutcome> {
    const write = await writeDesiredSize(db, sizeChange, request, bounds);
    if (waitMs === 0) return { from: write.from, to: write.to, message: `asked for ${plural(write.to)} (was ${write.from})` };
    const { size } = await settle(write.version);
    const message = write.from === write.to ? `the pool already has ${plural(size)}` : `the pool went from ${plural(write.from)} to ${plural(size)}`;
    return { from: write.from, to: size, message };
  }

  return {
    /** The desired size (what the pool is, or is being brought to). */
    async size(): Promise<number> {
      return (await readPoolState(db))?.desiredSize ?? (await activeCount(db));
    },
    /** Running members as recorded. */
    actual: () => activeCount(db),
    resize: (target: number, request: ResizeRequest) => change({ to: target }, request),
    step: (by: 1 | -1, request: ResizeRequest) => change({ by }, request),
    /** Takes one chosen member out (404 for an unknown id, 400 below the minimum); the pool shrinks by one. */
    async removeNode(id: string, request: ResizeRequest): Promise<ResizeOutcome> {
      const outcome = await change({ stop: id }, request);
      return { ...outcome, message: `stopped ${id}: ${outcome.message}` };
    },
    /** The shared cache configuration, sent by the leader to every member (and to every node that joins). */
    async configure(config: CacheConfig): Promise<void> {
      await settle(await writeDesiredCacheConfig(db, config));
    },
  };
}

export type PoolRequests = ReturnType<typeof createPoolRequests>;
