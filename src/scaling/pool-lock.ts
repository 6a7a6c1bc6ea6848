import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/database.js';
import { AppError } from '../http/app-error.js';

export type PoolLockOptions = {
  db: Db;
  /** A holder that dies keeps the lock at most this long. */
  ttlMs: number;
  /** How long a caller waits for the lock before giving up with a 503. */
  waitMs: number;
};

/**
 * The lock every resize holds, in the PoolState row, so a manager and a scaler on
 * different hosts never resize at once. It expires, so a crashed holder cannot block
 * forever; a live holder renews it while it works.
 */
export function createPoolLock({ db, ttlMs, waitMs }: PoolLockOptions) {
  const expiry = () => new Date(Date.now() + ttlMs);
  // Nothing deletes the row once it exists: creating it once per process, not on every
  // attempt, keeps a contended wait to one write per attempt.
  let rowCreated = false;

  async function tryAcquire(holder: string): Promise<boolean> {
    if (!rowCreated) {
      await db.poolState.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
      rowCreated = true;
    }
    const { count } = await db.poolState.updateMany({
      where: { id: 1, OR: [{ lockHolder: null }, { lockExpiresAt: { lt: new Date() } }] },
      data: { lockHolder: holder, lockExpiresAt: expiry() },
    });
    return count === 1;
  }

  async function acquire(holder: string): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!(await tryAcquire(holder))) {
      if (Date.now() > deadline) {
        const state = await db.poolState.findUnique({ where: { id: 1 } });
        throw new AppError(503, `the pool is busy with another resize (${state?.lockHolder ?? 'unknown holder'}); try again shortly`);
      }
      await sleep(50 + Math.random() * 100);
    }
  }

  return {
    /** Runs `work` holding the lock; each call is its own holder, so calls in one process also queue. */
    async run<T>(work: () => Promise<T>): Promise<T> {
      const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
      await acquire(holder);
      const renew = setInterval(() => {
        db.poolState
          .updateMany({ where: { id: 1, lockHolder: holder }, data: { lockExpiresAt: expiry() } })
          .catch(() => undefined);
      }, ttlMs / 3);
      try {
        return await work();
      } finally {
        clearInterval(renew);
        await db.poolState.updateMany({ where: { id: 1, lockHolder: holder }, data: { lockHolder: null, lockExpiresAt: null } });
      }
    },
  };
}

export type PoolLock = ReturnType<typeof createPoolLock>;
