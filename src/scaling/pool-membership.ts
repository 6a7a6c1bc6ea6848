import { TRANSACTION_OPTIONS, type Db } from '../db/database.js';
import { holdsLease } from './desired-state.js';
import { FencedError, type Lease } from './leader-lease.js';
import type { ProvidedMember } from './member-provider.js';
import { memberWord, STATE_ROW, type PoolName } from './pool-name.js';

/** A pool's members as the database records them, oldest first. */
export async function readMembers(db: Db, pool: PoolName): Promise<ProvidedMember[]> {
  return (await readMemberRows(db, pool)).map(({ leaving: _, ...member }) => member);
}

/** The members with the operator's stop requests (`leaving`), for the leader. */
export async function readMemberRows(db: Db, pool: PoolName): Promise<(ProvidedMember & { leaving: boolean })[]> {
  const rows = await db.poolNode.findMany({ where: { pool, state: 'active' }, orderBy: [{ since: 'asc' }, { id: 'asc' }] });
  return rows.map((r) => ({ id: r.id, instanceId: r.instanceId, address: r.address ?? '', leaving: r.leaving }));
}

/** The pool's membership version, bumped by every membership change. */
export async function readVersion(db: Db, pool: PoolName): Promise<number> {
  return (await db.poolState.findUnique({ where: { id: STATE_ROW[pool] }, select: { version: true } }))?.version ?? 0;
}

/**
 * Records joined and departed members and bumps the pool's version in one transaction, so
 * followers see one change. The first statement checks the lease: a leader whose generation
 * was superseded writes nothing (FencedError), however late its write arrives.
 */
export async function commitMembership(db: Db, lease: Lease, pool: PoolName, joined: readonly ProvidedMember[], left: readonly string[]): Promise<void> {
  await db.$transaction(async (tx) => {
    if (!(await holdsLease(tx, lease))) throw new FencedError(lease);
    const id = STATE_ROW[pool];
    await tx.poolState.upsert({ where: { id }, create: { id, version: 1 }, update: { version: { increment: 1 } } });
    for (const n of joined) {
      await tx.poolNode.upsert({
        where: { id: n.id },
        create: { id: n.id, pool, instanceId: n.instanceId, address: n.address, state: 'active' },
        update: { pool, instanceId: n.instanceId, address: n.address, state: 'active', leaving: false, since: new Date() },
      });
    }
    await tx.poolNode.deleteMany({ where: { pool, id: { in: [...left] } } });
  }, TRANSACTION_OPTIONS);
}

/** The next free ids of the pool's form: node-<n>, worker-<n>. */
export async function nextMemberIds(db: Db, pool: PoolName, count: number): Promise<string[]> {
  const rows = await db.poolNode.findMany({ select: { id: true } });
  const taken = new Set(rows.map((r) => r.id));
  const ids: string[] = [];
  for (let n = 1; ids.length < count; n++) if (!taken.has(`${memberWord(pool)}-${n}`)) ids.push(`${memberWord(pool)}-${n}`);
  return ids;
}
