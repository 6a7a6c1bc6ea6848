import { TRANSACTION_OPTIONS, type Db } from '../db/database.js';
import { AppError, NotFoundError } from '../http/app-error.js';
import type { ResizeRequest } from './pool-controller.js';

/** The pool's size limits; every desired size is kept within them. */
export type PoolBounds = { minNodes: number; maxNodes: number };

/** The size asked for: an absolute target, or one step from whatever the desired size is at the moment of the write. */
export type SizeChange = { to: number } | { by: 1 | -1 } | { stop: string };

/** What one write left behind: the desired version a caller waits for the leader to apply. */
export type DesiredWrite = { version: number; from: number; to: number };

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

export const plural = (n: number) => `${n} node${n === 1 ? '' : 's'}`;

export function checkBounds(target: number, { minNodes, maxNodes }: PoolBounds): void {
  if (!Number.isInteger(target)) throw new AppError(400, `the pool size must be a whole number, got ${target}`);
  if (target < minNodes) throw new AppError(400, `the pool cannot shrink below its minimum of ${plural(minNodes)}`);
  if (target > maxNodes) throw new AppError(400, `the pool cannot grow above its maximum of ${plural(maxNodes)}`);
}

/**
 * Takes the PoolState row's write lock for the rest of the transaction (PostgreSQL row lock,
 * SQLite's database lock) by bumping the desired version first; what is read after it is
 * then current, so a step is computed from the latest desired size, never a stale one.
 */
async function lockDesired(tx: Tx): Promise<{ desiredSize: number | null; desiredVersion: number }> {
  await tx.poolState.upsert({ where: { id: 1 }, create: { id: 1, desiredVersion: 1 }, update: { desiredVersion: { increment: 1 } } });
  return tx.poolState.findUniqueOrThrow({ where: { id: 1 }, select: { desiredSize: true, desiredVersion: true } });
}

const activeCount = (tx: Tx) => tx.poolNode.count({ where: { state: 'active' } });

/**
 * One atomic, bounded change of the desired size, recorded as an event with its actor and
 * reason in the same transaction. Two concurrent +1 give +2; a step past a bound is refused
 * (400) and changes nothing.
 */
export async function writeDesiredSize(db: Db, change: SizeChange, request: ResizeRequest, bounds: PoolBounds): Promise<DesiredWrite> {
  return db.$transaction(async (tx) => {
    const locked = await lockDesired(tx);
    const from = locked.desiredSize ?? (await activeCount(tx));
    let to: number;
    if ('to' in change) to = change.to;
    else if ('by' in change) to = from + change.by;
    else {
      to = from - 1;
      const { count } = await tx.poolNode.updateMany({ where: { id: change.stop, state: 'active', leaving: false }, data: { leaving: true } });
      if (count === 0) throw new NotFoundError(`the pool has no active node ${change.stop}`);
    }
    checkBounds(to, bounds);
    await tx.poolState.update({ where: { id: 1 }, data: { desiredSize: to } });
    await tx.scalingEvent.create({ data: { ...request, fromNodes: from, toNodes: to } });
    return { version: locked.desiredVersion, from, to };
  }, TRANSACTION_OPTIONS);
}

/** A change of the shared cache configuration is a desired-state change too: the leader sends it to every node. */
export async function writeDesiredCacheConfig(db: Db, config: { capacityMb: number; policy: string }): Promise<number> {
  return db.$transaction(async (tx) => {
    const { desiredVersion } = await lockDesired(tx);
    await tx.cacheConfig.upsert({ where: { id: 1 }, create: { id: 1, ...config }, update: config });
    return desiredVersion;
  }, TRANSACTION_OPTIONS);
}

/**
 * The leader's first look: a pool that never had a desired size gets one (its members,
 * within the bounds), recorded like any other decision.
 */
export async function ensureDesiredSize(db: Db, bounds: PoolBounds): Promise<void> {
  const state = await db.poolState.findUnique({ where: { id: 1 }, select: { desiredSize: true } });
  if (typeof state?.desiredSize === 'number') return;
  await db.$transaction(async (tx) => {
    const locked = await lockDesired(tx);
    if (locked.desiredSize !== null) return;
    const members = await activeCount(tx);
    const to = Math.min(bounds.maxNodes, Math.max(bounds.minNodes, members));
    await tx.poolState.update({ where: { id: 1 }, data: { desiredSize: to } });
    await tx.scalingEvent.create({
      data: { actor: 'manager', fromNodes: members, toNodes: to, reason: `the pool starts at ${plural(to)} (its minimum is ${plural(bounds.minNodes)})` },
    });
  }, TRANSACTION_OPTIONS);
}

export type PoolState = {
  desiredSize: number | null;
  desiredVersion: number;
  appliedVersion: number;
  applyNote: string | null;
  leaderId: string | null;
  leaseExpiresAt: Date | null;
};

export async function readPoolState(db: Db): Promise<PoolState | null> {
  return db.poolState.findUnique({
    where: { id: 1 },
    select: { desiredSize: true, desiredVersion: true, appliedVersion: true, applyNote: true, leaderId: true, leaseExpiresAt: true },
  });
}
