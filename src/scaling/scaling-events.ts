import type { Db } from '../db/database.js';

/** `manager`: the leader, repairing the pool (a dead node replaced, the first desired size). */
export type ScalingActor = 'operator' | 'scaler' | 'manager';

/** The cache pool (cache nodes) or the web pool (web workers). */
export type PoolName = 'cache' | 'web';

/** One sizing decision, kept with its reason (SPEC §5: every decision is recorded). */
export type ScalingDecisionRecord = {
  /** The cache pool when absent. */
  pool?: PoolName;
  actor: ScalingActor;
  fromNodes: number;
  toNodes: number;
  reason: string;
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

/** When the pool last changed size, by anyone; the scaler waits after it (a full window, or the cool-down). */
export async function lastResizeAt(db: Db, pool: PoolName = 'cache'): Promise<Date | undefined> {
  const row = await db.scalingEvent.findFirst({
    where: { pool, NOT: { fromNodes: { equals: db.scalingEvent.fields.toNodes } } },
    orderBy: { at: 'desc' },
    select: { at: true },
  });
  return row?.at;
}
