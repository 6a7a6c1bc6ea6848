import type { Db } from '../db/database.js';
import type { ProvidedNode } from './node-provider.js';

/** The pool's members as the database records them, oldest first. */
export async function readMembers(db: Db): Promise<ProvidedNode[]> {
  const rows = await db.poolNode.findMany({ where: { state: 'active' }, orderBy: [{ since: 'asc' }, { id: 'asc' }] });
  return rows.map((r) => ({ id: r.id, instanceId: r.instanceId, address: r.address ?? '' }));
}

export async function readVersion(db: Db): Promise<number> {
  return (await db.poolState.findUnique({ where: { id: 1 }, select: { version: true } }))?.version ?? 0;
}

/** Records joined and departed nodes and bumps the version in one transaction, so followers see one change. */
export async function commitMembership(db: Db, joined: readonly ProvidedNode[], left: readonly string[]): Promise<void> {
  await db.$transaction([
    ...joined.map((n) =>
      db.poolNode.upsert({
        where: { id: n.id },
        create: { id: n.id, instanceId: n.instanceId, address: n.address, state: 'active' },
        update: { instanceId: n.instanceId, address: n.address, state: 'active', since: new Date() },
      }),
    ),
    db.poolNode.deleteMany({ where: { id: { in: [...left] } } }),
    db.poolState.upsert({ where: { id: 1 }, create: { id: 1, version: 1 }, update: { version: { increment: 1 } } }),
  ]);
}

/** The next free id of the form node-<n>. */
export async function nextNodeIds(db: Db, count: number): Promise<string[]> {
  const rows = await db.poolNode.findMany({ select: { id: true } });
  const taken = new Set(rows.map((r) => r.id));
  const ids: string[] = [];
  for (let n = 1; ids.length < count; n++) if (!taken.has(`node-${n}`)) ids.push(`node-${n}`);
  return ids;
}
