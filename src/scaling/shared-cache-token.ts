import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';

const NAME = 'cache-token';

/**
 * The cache token of a pool whose operator set none: generated once, kept in the database so
 * every process of the fleet (the manager that starts nodes, the web hosts that call them,
 * the next leader) sends the same one. The first process to write it wins.
 */
export async function sharedCacheToken(db: Db): Promise<string> {
  const existing = await db.sharedSecret.findUnique({ where: { name: NAME } });
  if (existing) return existing.value;
  try {
    return (await db.sharedSecret.create({ data: { name: NAME, value: randomBytes(24).toString('base64url') } })).value;
  } catch {
    // Another process created it meanwhile.
    return (await db.sharedSecret.findUniqueOrThrow({ where: { name: NAME } })).value;
  }
}
