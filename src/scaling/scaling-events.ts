import type { Db } from '../db/database.js';
import type { PoolName } from './pool-name.js';

/** `manager`: the leader, repairing a pool (a dead member replaced, the first desired size). */
export type ScalingActor = 'operator' | 'scaler' | 'manager';

/** One sizing decision of one pool, kept with its reason (SPEC §5: every decision is recorded). */
export type ScalingDecisionRecord = {
  pool: PoolName;
  actor: ScalingActor;
  /** Members before and after (nodes or workers). */
  fromNodes: number;
  toNodes: number;
  reason: string;
  /** What the cache pool's scaler saw. */
  missRate?: number;
  lookups?: number;
  maxMiss?: number;
  minMiss?: number;
  /** What the web pool's scaler saw: average CPU (0..1) and its thresholds. */
  cpu?: number;
  growCpu?: number;
  shrinkCpu?: number;
};

export async function recordScalingEvent(db: Db, event: ScalingDecisionRecord, at = new Date()): Promise<void> {
  await db.scalingEvent.create({ data: { at, ...event } });
}

/** When a pool last changed size, by anyone; its scaler waits for a full window (or a cool-down) after it. */
export async function lastResizeAt(db: Db, pool: PoolName): Promise<Date | undefined> {
  const row = await db.scalingEvent.findFirst({
    where: { pool, NOT: { fromNodes: { equals: db.scalingEvent.fields.toNodes } } },
    orderBy: { at: 'desc' },
    select: { at: true },
  });
  return row?.at;
}
