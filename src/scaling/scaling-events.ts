import type { Db } from '../db/database.js';

/** `manager`: the leader, repairing the pool (a dead node replaced, the first desired size). */
export type ScalingActor = 'operator' | 'scaler' | 'manager';

/** One sizing decision, kept with its reason (SPEC §5: every decision is recorded). */
export type ScalingDecisionRecord = {
  actor: ScalingActor;
  fromNodes: number;
  toNodes: number;
  reason: string;
  missRate?: number;
  lookups?: number;
  maxMiss?: number;
  minMiss?: number;
};

export async function recordScalingEvent(db: Db, event: ScalingDecisionRecord, at = new Date()): Promise<void> {
  await db.scalingEvent.create({ data: { at, ...event } });
}

/** When the pool last changed size, by anyone; the scaler waits for a full window after it. */
export async function lastResizeAt(db: Db): Promise<Date | undefined> {
  const row = await db.scalingEvent.findFirst({
    where: { NOT: { fromNodes: { equals: db.scalingEvent.fields.toNodes } } },
    orderBy: { at: 'desc' },
    select: { at: true },
  });
  return row?.at;
}
