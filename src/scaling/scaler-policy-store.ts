import type { Db } from '../db/database.js';
import { SCALER_MODES, type ScalerMode, type ScalerPolicy } from './scaler-policy.js';

const POLICY_ID = 1;

type PolicyRow = { mode: string; maxMissRate: number; minMissRate: number; expandRatio: number; shrinkRatio: number };

function toPolicy(row: PolicyRow): ScalerPolicy {
  // A mode the code does not know (a hand-edited row) must not drive the pool.
  const mode: ScalerMode = (SCALER_MODES as readonly string[]).includes(row.mode) ? (row.mode as ScalerMode) : 'manual';
  return {
    mode,
    maxMissRate: row.maxMissRate,
    minMissRate: row.minMissRate,
    expandRatio: row.expandRatio,
    shrinkRatio: row.shrinkRatio,
  };
}

/** The stored policy; a missing row is created with the model's defaults. */
export async function loadScalerPolicy(db: Db): Promise<ScalerPolicy> {
  const row = await db.scalerPolicy.findUnique({ where: { id: POLICY_ID } });
  if (row) return toPolicy(row);
  try {
    return toPolicy(await db.scalerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID }, update: {} }));
  } catch (err) {
    // Another process created the row between our read and our write.
    const existing = await db.scalerPolicy.findUnique({ where: { id: POLICY_ID } });
    if (existing) return toPolicy(existing);
    throw err;
  }
}

/** Stores a policy that has been validated (see `parsePolicyChange`). */
export async function saveScalerPolicy(db: Db, policy: ScalerPolicy): Promise<ScalerPolicy> {
  const data = {
    mode: policy.mode,
    maxMissRate: policy.maxMissRate,
    minMissRate: policy.minMissRate,
    expandRatio: policy.expandRatio,
    shrinkRatio: policy.shrinkRatio,
  };
  return toPolicy(await db.scalerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID, ...data }, update: data }));
}
