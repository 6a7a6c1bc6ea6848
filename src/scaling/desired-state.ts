import { TRANSACTION_OPTIONS, type Db } from '../db/database.js';
import { AppError, NotFoundError } from '../http/app-error.js';
import type { Lease } from './leader-lease.js';
import type { ResizeRequest } from './pool-controller.js';
import { countOf, LEASE_ROW, memberWord, poolTitle, STATE_ROW, type PoolBounds, type PoolName } from './pool-name.js';

/** The size asked for: an absolute target, or one step from whatever the desired size is at the moment of the write. */
export type SizeChange = { to: number } | { by: 1 | -1 } | { stop: string };

/** What one write left behind: the desired version a caller waits for the leader to apply. */
export type DesiredWrite = { version: number; from: number; to: number };

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

export function checkBounds(pool: PoolName, target: number, { min, max }: PoolBounds): void {
  const title = poolTitle(pool);
  if (!Number.isInteger(target)) throw new AppError(400, `${title} size must be a whole number, got ${target}`);
  if (target < min) throw new AppError(400, `${title} cannot shrink below its minimum of ${countOf(pool, min)}`);
  if (target > max) throw new AppError(400, `${title} cannot grow above its maximum of ${countOf(pool, max)}`);
}

/**
 * Takes the pool's PoolState row's write lock for the rest of the transaction (PostgreSQL row
 * lock, SQLite's database lock) by bumping the desired version first; what is read after it is
 * then current, so a step is computed from the latest desired size, never a stale one.
 */
async function lockDesired(tx: Tx, pool: PoolName): Promise<{ desiredSize: number | null; desiredVersion: number }> {
  const id = STATE_ROW[pool];
  await tx.poolState.upsert({ where: { id }, create: { id, desiredVersion: 1 }, update: { desiredVersion: { increment: 1 } } });
  return tx.poolState.findUniqueOrThrow({ where: { id }, select: { desiredSize: true, desiredVersion: true } });
}

const activeCount = (tx: Tx, pool: PoolName) => tx.poolNode.count({ where: { pool, state: 'active' } });

/**
 * One atomic, bounded change of a pool's desired size, recorded as an event with its actor and
 * reason in the same transaction. Two concurrent +1 give +2; a step past a bound is refused
 * (400) and changes nothing.
 */
export async function writeDesiredSize(db: Db, pool: PoolName, change: SizeChange, request: ResizeRequest, bounds: PoolBounds): Promise<DesiredWrite> {
  return db.$transaction(async (tx) => {
    const locked = await lockDesired(tx, pool);
    const from = locked.desiredSize ?? (await activeCount(tx, pool));
    let to: number;
    if ('to' in change) to = change.to;
    else if ('by' in change) to = from + change.by;
    else {
      to = from - 1;
      const { count } = await tx.poolNode.updateMany({ where: { id: change.stop, pool, state: 'active', leaving: false }, data: { leaving: true } });
      if (count === 0) throw new NotFoundError(`${poolTitle(pool)} has no active ${memberWord(pool)} ${change.stop}`);
    }
    checkBounds(pool, to, bounds);
    await tx.poolState.update({ where: { id: STATE_ROW[pool] }, data: { desiredSize: to } });
    await tx.scalingEvent.create({ data: { ...request, pool, fromNodes: from, toNodes: to } });
    return { version: locked.desiredVersion, from, to };
  }, TRANSACTION_OPTIONS);
}

/** A change of the shared cache configuration is a desired-state change of the cache pool: the leader sends it to every node. */
export async function writeDesiredCacheConfig(db: Db, config: { capacityMb: number; policy: string }): Promise<number> {
  return db.$transaction(async (tx) => {
    const { desiredVersion } = await lockDesired(tx, 'cache');
    await tx.cacheConfig.upsert({ where: { id: 1 }, create: { id: 1, ...config }, update: config });
    return desiredVersion;
  }, TRANSACTION_OPTIONS);
}

/**
 * The leader's first look at a pool: one that never had a desired size gets one (its members,
 * within the bounds), recorded like any other decision.
 */
export async function ensureDesiredSize(db: Db, pool: PoolName, bounds: PoolBounds): Promise<void> {
  const state = await db.poolState.findUnique({ where: { id: STATE_ROW[pool] }, select: { desiredSize: true } });
  if (typeof state?.desiredSize === 'number') return;
  await db.$transaction(async (tx) => {
    const locked = await lockDesired(tx, pool);
    if (locked.desiredSize !== null) return;
    const members = await activeCount(tx, pool);
    const to = Math.min(bounds.max, Math.max(bounds.min, members));
    await tx.poolState.update({ where: { id: STATE_ROW[pool] }, data: { desiredSize: to } });
    await tx.scalingEvent.create({
      data: { pool, actor: 'manager', fromNodes: members, toNodes: to, reason: `${poolTitle(pool)} starts at ${countOf(pool, to)} (its minimum is ${countOf(pool, bounds.min)})` },
    });
  }, TRANSACTION_OPTIONS);
}

/**
 * The first statement of a leader's write: it checks the lease (and takes the lease row's write
 * lock), so a leader whose generation was superseded writes nothing, however late it arrives.
 * Returns false when the lease is no longer ours.
 */
export async function holdsLease(tx: Tx, lease: Lease): Promise<boolean> {
  const { count } = await tx.poolState.updateMany({
    where: { id: LEASE_ROW, leaderId: lease.holder, leaderGeneration: lease.generation },
    data: { leaderGeneration: lease.generation },
  });
  return count === 1;
}

/** Records the desired version a leader's pass applied (and why it fell short, if it did); a deposed leader's record is dropped. */
export async function recordApplied(db: Db, pool: PoolName, lease: Lease, version: number, note: string | undefined): Promise<boolean> {
  return db.$transaction(async (tx) => {
    if (!(await holdsLease(tx, lease))) return false;
    const { count } = await tx.poolState.updateMany({
      where: { id: STATE_ROW[pool], appliedVersion: { lte: version } },
      data: { appliedVersion: version, applyNote: note ?? null },
    });
    return count === 1;
  }, TRANSACTION_OPTIONS);
}

export type PoolState = {
  desiredSize: number | null;
  desiredVersion: number;
  appliedVersion: number;
  applyNote: string | null;
  /** The one lease's holder (both pools'). */
  leaderId: string | null;
  leaseExpiresAt: Date | null;
};

/** A pool's desired state, with the lease that governs every pool. */
export async function readPoolState(db: Db, pool: PoolName): Promise<PoolState | null> {
  const desired = { desiredSize: true, desiredVersion: true, appliedVersion: true, applyNote: true } as const;
  const lease = { leaderId: true, leaseExpiresAt: true } as const;
  if (STATE_ROW[pool] === LEASE_ROW) return db.poolState.findUnique({ where: { id: LEASE_ROW }, select: { ...desired, ...lease } });
  const [state, leader] = await Promise.all([
    db.poolState.findUnique({ where: { id: STATE_ROW[pool] }, select: desired }),
    db.poolState.findUnique({ where: { id: LEASE_ROW }, select: lease }),
  ]);
  return state && { ...state, leaderId: leader?.leaderId ?? null, leaseExpiresAt: leader?.leaseExpiresAt ?? null };
}
