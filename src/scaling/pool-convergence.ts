import type { FastifyBaseLogger } from 'fastify';
import { loadSharedCacheConfig } from '../cache/shared-cache-config.js';
import type { Db } from '../db/database.js';
import type { CachePool } from '../pool/cache-pool.js';
import { plural, readPoolState } from './desired-state.js';
import type { Lease } from './leader-lease.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';
import { isAlive } from './node-health.js';
import type { PoolMembers } from './pool-members.js';
import { commitMembership, nextNodeIds, readMemberRows } from './pool-membership.js';
import { recordScalingEvent } from './scaling-events.js';
import type { PoolTransition } from './pool-transition.js';

type Deps = {
  db: Db;
  pool: CachePool;
  members: PoolMembers;
  provider: NodeProvider;
  transition: PoolTransition;
  log: FastifyBaseLogger;
};

/**
 * Besides applying a new desired version: check every member's health, send the configuration
 * again and retry a growth that fell short (each health interval, not each pass).
 */
export type PassOptions = { checkHealth: boolean };

/**
 * One leader pass: bring the pool to the desired state. It reads the desired version first
 * and records it as applied last, so a change written during the pass (a configuration
 * change while a node joins) leaves a newer version for the next pass, which sends it to
 * every member, the joined one included.
 */
export function createPoolConvergence({ db, pool, members, provider, transition, log }: Deps) {
  /** Drops members that stopped answering (recorded), and stops nodes the pool does not record. */
  async function dropDead(lease: Lease, rows: ProvidedNode[], desired: number): Promise<ProvidedNode[]> {
    const alive = await Promise.all(rows.map((m) => isAlive(members, m)));
    const dead = rows.filter((_, i) => !alive[i]);
    if (dead.length > 0) {
      await commitMembership(db, lease, [], dead.map((m) => m.id));
      await Promise.all(dead.map((m) => provider.stop(m.id).catch(() => undefined)));
      const ids = dead.map((m) => m.id).join(', ');
      log.warn({ nodes: ids }, 'dropped pool members that no longer answer');
      await recordScalingEvent(db, {
        actor: 'manager',
        fromNodes: rows.length,
        toNodes: rows.length - dead.length,
        reason: `${ids} stopped answering; replacing ${dead.length === 1 ? 'it' : 'them'} to keep ${plural(desired)}`,
      });
    }
    const recorded = new Set(rows.map((m) => m.id));
    const orphans = (await provider.list()).filter((n) => !recorded.has(n.id));
    await Promise.all(orphans.map((n) => provider.stop(n.id).catch(() => undefined)));
    if (orphans.length > 0) log.warn({ nodes: orphans.map((n) => n.id) }, 'stopped nodes the pool does not record');
    return rows.filter((_, i) => alive[i]);
  }

  async function grow(lease: Lease, current: ProvidedNode[], target: number): Promise<string | undefined> {
    const config = await loadSharedCacheConfig(db);
    const ids = await nextNodeIds(db, target - current.length);
    const started = await Promise.allSettled(ids.map((id) => transition.startConfigured(id, config)));
    const joined = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (joined.length > 0) await transition.move(lease, current, [...current, ...joined], joined);
    log.info({ from: current.length, to: current.length + joined.length }, 'pool grown');
    if (!failure) return undefined;
    return `only ${current.length + joined.length} of ${plural(target)} could be started: ${(failure.reason as Error).message}`;
  }

  /** One pass under the lease; returns why the pool is short of the desired state, if it is. */
  async function pass(lease: Lease, { checkHealth }: PassOptions): Promise<string | undefined> {
    const state = await readPoolState(db);
    const desired = state?.desiredSize ?? 0;
    const version = state?.desiredVersion ?? 0;
    const changed = version > (state?.appliedVersion ?? 0);
    let rows = await readMemberRows(db);
    if (checkHealth) {
      // First: a member that died with the previous leader (an in-process shard) cannot even be routed to.
      const alive = await dropDead(lease, rows, desired);
      rows = rows.filter((r) => alive.some((a) => a.id === r.id));
    }
    await members.refollow();
    const notes: string[] = [];
    if (changed || checkHealth) {
      // Taking the same configuration again changes nothing on a node; a node that restarted in place gets it back.
      await pool.reconfigure(await loadSharedCacheConfig(db)).catch((err: Error) => notes.push(`not every node took the cache configuration: ${err.message}`));
    }
    const leaving = rows.filter((r) => r.leaving);
    let current: ProvidedNode[] = rows;
    if (leaving.length > 0 || rows.length > desired) {
      const staying = rows.filter((r) => !r.leaving).slice(0, desired); // the newest nodes leave first
      await transition.move(lease, rows, staying, []);
      log.info({ from: rows.length, to: staying.length, stopped: leaving.map((r) => r.id) }, 'pool shrunk');
      current = staying;
    }
    if (current.length < desired && (changed || checkHealth)) {
      const shortfall = await grow(lease, current, desired);
      if (shortfall) notes.push(shortfall);
    }
    const note = notes.length > 0 ? notes.join('; ') : undefined;
    const { count } = await db.poolState.updateMany({
      where: { id: 1, leaderId: lease.holder, leaderGeneration: lease.generation, appliedVersion: { lte: version } },
      data: { appliedVersion: version, applyNote: note ?? null },
    });
    if (count === 0) log.debug({ version }, 'a newer leader or pass recorded its own applied version');
    return note;
  }

  return { pass };
}

export type PoolConvergence = ReturnType<typeof createPoolConvergence>;
