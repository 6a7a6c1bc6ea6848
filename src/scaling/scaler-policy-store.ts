import type { Db } from '../db/database.js';
import { loadOrCreateRow, storedMode } from './policy-row.js';
import type { ScalerPolicy } from './scaler-policy.js';

const POLICY_ID = 1;

type PolicyRow = { mode: string; maxMissRate: number; minMissRate: number; expandRatio: number; shrinkRatio: number };

function toPolicy(row: PolicyRow): ScalerPolicy {
  return {
    mode: storedMode(row.mode),
    maxMissRate: row.maxMissRate,
    minMissRate: row.minMissRate,
    expandRatio: row.expandRatio,
    shrinkRatio: row.shrinkRatio,
  };
}

/** The stored policy; a missing row is created with the model's defaults. */
export async function loadScalerPolicy(db: Db): Promise<ScalerPolicy> {
  return toPolicy(
    await loadOrCreateRow(
      () => db.scalerPolicy.findUnique({ where: { id: POLICY_ID } }),
      () => db.scalerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID }, update: {} }),
    ),
  );
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
