// What the two pools' stored policies (one row each, ScalerPolicy and WorkerPolicy) have in common.
import { isPolicyMode, type PolicyMode } from './policy-fields.js';

/** A stored mode the code does not know (a hand-edited row) must not drive the pool. */
export const storedMode = (mode: string): PolicyMode => (isPolicyMode(mode) ? mode : 'manual');

/** A policy's one row, created with the model's defaults on its first read. */
export async function loadOrCreateRow<Row>(find: () => Promise<Row | null>, create: () => Promise<Row>): Promise<Row> {
  const row = await find();
  if (row) return row;
  try {
    return await create();
  } catch (err) {
    // Another process created the row between our read and our write.
    const existing = await find();
    if (existing) return existing;
    throw err;
  }
}
