import type { Db } from '../db/database.js';
import { loadOrCreateRow, storedMode } from './policy-row.js';
import type { WorkerPolicy } from './worker-policy.js';

const POLICY_ID = 1;

type PolicyRow = { mode: string; growCpu: number; shrinkCpu: number; growRatio: number; shrinkRatio: number; cooldownS: number };

function toPolicy({ mode, growCpu, shrinkCpu, growRatio, shrinkRatio, cooldownS }: PolicyRow): WorkerPolicy {
  return { mode: storedMode(mode), growCpu, shrinkCpu, growRatio, shrinkRatio, cooldownS };
}

/** The web pool's stored policy; a missing row is created with the model's defaults. */
export async function loadWorkerPolicy(db: Db): Promise<WorkerPolicy> {
  return toPolicy(
    await loadOrCreateRow(
      () => db.workerPolicy.findUnique({ where: { id: POLICY_ID } }),
      () => db.workerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID }, update: {} }),
    ),
  );
}

/** Stores a policy that has been validated (see `parseWorkerPolicyChange`). */
export async function saveWorkerPolicy(db: Db, policy: WorkerPolicy): Promise<WorkerPolicy> {
  const data = toPolicy(policy);
  return toPolicy(await db.workerPolicy.upsert({ where: { id: POLICY_ID }, create: { id: POLICY_ID, ...data }, update: data }));
}
