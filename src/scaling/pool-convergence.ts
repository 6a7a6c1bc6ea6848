import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.js';
import { readPoolState, recordApplied } from './desired-state.js';
import type { Lease } from './leader-lease.js';
import type { MemberProvider, ProvidedMember } from './member-provider.js';
import { isAlive } from './node-health.js';
import { commitMembership, nextMemberIds, readMemberRows } from './pool-membership.js';
import { countOf, type PoolName } from './pool-name.js';
import { recordScalingEvent } from './scaling-events.js';

/**
 * What one pool does its own way; the rest of a pass is the same for every pool. The cache
 * pool moves its entries before a membership change and configures a node before it joins
 * (pool-transition.ts); the web pool has neither (its load balancer routes).
 */
export type PoolSteps = {
  /** Starts one member and resolves once it is ready to serve. */
  start(id: string): Promise<ProvidedMember>;
  /** One health probe of a member. */
  probe(member: ProvidedMember): Promise<boolean>;
  /** Before a membership change is recorded: route to `next` (may throw: the change is abandoned). */
  route?(next: ProvidedMember[]): Promise<void>;
  /** After an abandoned change: route to the recorded members again. */
  reroute?(): Promise<void>;
  /** Each pass, before the sizing: anything the pool keeps in step with the desired state; returns what fell short. */
  refresh?(pass: { changed: boolean; checkHealth: boolean }): Promise<string[]>;
  /** Runs a pass (the cache pool: with no membership follow of this process in between). */
  exclusive?<T>(work: () => Promise<T>): Promise<T>;
};

type Deps = {
  db: Db;
  pool: PoolName;
  provider: MemberProvider;
  steps: PoolSteps;
  log: FastifyBaseLogger;
};

/**
 * Besides applying a new desired version: check every member's health, replace dead ones and
 * retry a growth that fell short (each health interval, not each pass).
 */
export type PassOptions = { checkHealth: boolean };

/**
 * One leader pass over one pool: bring it to its desired state. It reads the desired version
 * first and records it as applied last, so a change written during the pass (a configuration
 * change while a node joins) leaves a newer version for the next pass.
 */
export function createPoolConvergence({ db, pool, provider, steps, log }: Deps) {
  const count = (n: number) => countOf(pool, n);

  /** Routes to `next`, records it under the lease, then stops who left; on failure nothing is recorded and what started is stopped. */
  async function move(lease: Lease, current: ProvidedMember[], next: ProvidedMember[], joined: ProvidedMember[]): Promise<void> {
    const leaving = current.filter((m) => !next.some((n) => n.id === m.id));
    try {
      await steps.route?.(next);
      await commitMembership(db, lease, pool, joined, leaving.map((m) => m.id));
    } catch (err) {
      await steps.reroute?.().catch(() => undefined);
      await Promise.all(joined.map((n) => provider.stop(n.id).catch(() => undefined)));
      throw err;
    }
    await provider.recorded?.(joined);
    await Promise.all(leaving.map((m) => provider.stop(m.id).catch((err) => log.warn({ err, pool, member: m.id }, 'member did not stop cleanly'))));
  }

  /** Drops members that stopped answering (recorded), and stops members the pool does not record. */
  async function dropDead(lease: Lease, rows: ProvidedMember[], desired: number): Promise<ProvidedMember[]> {
    const alive = await Promise.all(rows.map((m) => isAlive(() => steps.probe(m))));
    const dead = rows.filter((_, i) => !alive[i]);
    if (dead.length > 0) {
      await commitMembership(db, lease, pool, [], dead.map((m) => m.id));
      await Promise.all(dead.map((m) => provider.stop(m.id).catch(() => undefined)));
      const ids = dead.map((m) => m.id).join(', ');
      log.warn({ pool, members: ids }, 'dropped pool members that no longer answer');
      await recordScalingEvent(db, {
        pool,
        actor: 'manager',
        fromNodes: rows.length,
        toNodes: rows.length - dead.length,
        reason: `${ids} stopped answering; replacing ${dead.length === 1 ? 'it' : 'them'} to keep ${count(desired)}`,
      });
    }
    const recorded = new Set(rows.map((m) => m.id));
    const orphans = (await provider.list()).filter((n) => !recorded.has(n.id));
    await Promise.all(orphans.map((n) => provider.stop(n.id).catch(() => undefined)));
    if (orphans.length > 0) log.warn({ pool, members: orphans.map((n) => n.id) }, 'stopped members the pool does not record');
    return rows.filter((_, i) => alive[i]);
  }

  async function grow(lease: Lease, current: ProvidedMember[], target: number): Promise<string | undefined> {
    const ids = await nextMemberIds(db, pool, target - current.length);
    const started = await Promise.allSettled(ids.map((id) => steps.start(id)));
    const joined = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (joined.length > 0) await move(lease, current, [...current, ...joined], joined);
    log.info({ pool, from: current.length, to: current.length + joined.length }, 'pool grown');
    if (!failure) return undefined;
    return `only ${current.length + joined.length} of ${count(target)} could be started: ${(failure.reason as Error).message}`;
  }

  /** One pass under the lease; returns why the pool is short of the desired state, if it is. */
  async function pass(lease: Lease, { checkHealth }: PassOptions): Promise<string | undefined> {
    const state = await readPoolState(db, pool);
    const desired = state?.desiredSize ?? 0;
    const version = state?.desiredVersion ?? 0;
    const changed = version > (state?.appliedVersion ?? 0);
    let rows = await readMemberRows(db, pool);
    if (checkHealth) {
      // First: a member that died with the previous leader (an in-process shard) cannot even be routed to.
      const alive = await dropDead(lease, rows, desired);
      rows = rows.filter((r) => alive.some((a) => a.id === r.id));
    }
    const notes = (await steps.refresh?.({ changed, checkHealth })) ?? [];
    const leaving = rows.filter((r) => r.leaving);
    let current: ProvidedMember[] = rows;
    if (leaving.length > 0 || rows.length > desired) {
      const staying = rows.filter((r) => !r.leaving).slice(0, desired); // the newest members leave first
      await move(lease, rows, staying, []);
      log.info({ pool, from: rows.length, to: staying.length, stopped: rows.filter((r) => !staying.includes(r)).map((r) => r.id) }, 'pool shrunk');
      current = staying;
    }
    if (current.length < desired && (changed || checkHealth)) {
      const shortfall = await grow(lease, current, desired);
      if (shortfall) notes.push(shortfall);
    }
    const note = notes.length > 0 ? notes.join('; ') : undefined;
    if (!(await recordApplied(db, pool, lease, version, note))) log.debug({ pool, version }, 'a newer leader or pass recorded its own applied version');
    return note;
  }

  return { pass: (lease: Lease, options: PassOptions) => (steps.exclusive ? steps.exclusive(() => pass(lease, options)) : pass(lease, options)) };
}

export type PoolConvergence = ReturnType<typeof createPoolConvergence>;
