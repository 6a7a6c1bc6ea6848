import type { Db } from '../db/database.js';
import { POLICY_MODES, type PolicyMode } from './policy-fields.js';
import type { WorkerPolicy } from './worker-policy.js';

const POLICY_ID = 1;

type PolicyRow = { mode: string; growCpu: number; shrinkCpu: number; growRatio: number; shrinkRatio: number; cooldownS: number };

function toPolicy({ mode, growCpu, shrinkCpu, growRatio, shrinkRatio, cooldownS }: PolicyRow): WorkerPolicy {
  // A mode the code does not know (a hand-edited row) must not drive the pool.
  const known: PolicyMode = (POLICY_MODES as readonly string[]).includes(mode) ? (mode as PolicyMode) : 'manual';
  return { mode: known, growCpu, shrinkCpu, growRatio, shrinkRatio, cooldownS };
}

/** The web pool's stored policy; a missing row is created with the model's defaults. */
export async function loadWorkerPolicy(db: Db): Promise<WorkerPolicy> {
  const row = await db.workerPolicy.findUnique({ where: { id: POLICY_ID } });
  if (row) return toPolicy(row);
  try {
    return toPolicy(await db.workerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID }, update: {} }));
  } catch (err) {
    // Another process created the row between our read and our write.
    const existing = await db.workerPolicy.findUnique({ where: { id: POLICY_ID } });
    if (existing) return toPolicy(existing);
    throw err;
  }
}

/** Stores a policy that has been validated (see `parseWorkerPolicyChange`). */
export async function saveWorkerPolicy(db: Db, policy: WorkerPolicy): Promise<WorkerPolicy> {
  const data = toPolicy(policy);
  return toPolicy(await db.workerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID, ...data }, update: data }));
}
