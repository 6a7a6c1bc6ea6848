import { TRANSACTION_OPTIONS, type Db } from '../db/database.js';
import { FencedError, type Lease } from './leader-lease.js';
import type { ProvidedNode } from './node-provider.js';

/** The pool's members as the database records them, oldest first. */
export async function readMembers(db: Db): Promise<ProvidedNode[]> {
  return (await readMemberRows(db)).map(({ leaving: _, ...member }) => member);
}

/** The members with the operator's stop requests (`leaving`), for the leader. */
export async function readMemberRows(db: Db): Promise<(ProvidedNode & { leaving: boolean })[]> {
  const rows = await db.poolNode.findMany({ where: { state: 'active' }, orderBy: [{ since: 'asc' }, { id: 'asc' }] });
  return rows.map((r) => ({ id: r.id, instanceId: r.instanceId, address: r.address ?? '', leaving: r.leaving }));
}

export async function readVersion(db: Db): Promise<number> {
  return (await db.poolState.findUnique({ where: { id: 1 }, select: { version: true } }))?.version ?? 0;
}

/**
 * Records joined and departed nodes and bumps the version in one transaction, so followers
 * see one change. The first statement checks the lease: a leader whose generation was
 * superseded writes nothing (FencedError), however late its write arrives.
 */
export async function commitMembership(db: Db, lease: Lease, joined: readonly ProvidedNode[], left: readonly string[]): Promise<void> {
  await db.$transaction(async (tx) => {
    const { count } = await tx.poolState.updateMany({
      where: { id: 1, leaderId: lease.holder, leaderGeneration: lease.generation },
      data: { version: { increment: 1 } },
    });
    if (count === 0) throw new FencedError(lease);
    for (const n of joined) {
      await tx.poolNode.upsert({
        where: { id: n.id },
        create: { id: n.id, instanceId: n.instanceId, address: n.address, state: 'active' },
        update: { instanceId: n.instanceId, address: n.address, state: 'active', leaving: false, since: new Date() },
      });
    }
    await tx.poolNode.deleteMany({ where: { id: { in: [...left] } } });
  }, TRANSACTION_OPTIONS);
}

/** The next free id of the form node-<n>. */
export async function nextNodeIds(db: Db, count: number): Promise<string[]> {
  const rows = await db.poolNode.findMany({ select: { id: true } });
  const taken = new Set(rows.map((r) => r.id));
  const ids: string[] = [];
  for (let n = 1; ids.length < count; n++) if (!taken.has(`node-${n}`)) ids.push(`node-${n}`);
  return ids;
}
