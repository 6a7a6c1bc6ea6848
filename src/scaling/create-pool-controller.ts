import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Mutex } from 'async-mutex';
import type { CacheConfig } from '../cache/cache-types.js';
import type { Db } from '../db/database.js';
import { AppError, NotFoundError } from '../http/app-error.js';
import type { CacheNode } from '../pool/cache-node.js';
import type { CachePool } from '../pool/cache-pool.js';
import type { MigrationReport } from '../pool/migrate-entries.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';
import type { ManagedPoolController, ResizeOutcome, ResizeRequest } from './pool-controller.js';
import type { PoolLock } from './pool-lock.js';
import { commitMembership, nextNodeIds, readMembers, readVersion } from './pool-membership.js';
import { recordScalingEvent } from './scaling-events.js';

type Deps = {
  db: Db;
  provider: NodeProvider;
  pool: CachePool;
  lock: PoolLock;
  /** The shared cache configuration (from the database): nodes hold none of their own. */
  cacheConfig: () => Promise<CacheConfig>;
  minNodes: number;
  maxNodes: number;
  log: FastifyBaseLogger;
};

export type { ManagedPoolController } from './pool-controller.js';

/** Reconcile drops a member only after this many failed health checks in a row, this far apart. */
const HEALTH_ATTEMPTS = 3;
const HEALTH_RETRY_MS = 250;

const plural = (n: number) => `${n} node${n === 1 ? '' : 's'}`;

export function createPoolController({ db, provider, pool, lock, cacheConfig, minNodes, maxNodes, log }: Deps): ManagedPoolController {
  let syncedVersion = -1;
  // Resizes and membership syncs of this process take turns, so a sync never
  // re-applies the membership a resize in this process is replacing.
  const local = new Mutex();

  // A member is the node we already route to only if it is the same instance at the same
  // address: a dead node replaced under its id (reconcile reuses the lowest free id) is a
  // new node, and a client of the old one would keep calling the dead address.
  const identity = (m: ProvidedNode) => JSON.stringify([m.id, m.instanceId, m.address]);
  const identities = new WeakMap<CacheNode, string>();

  function clientFor(member: ProvidedNode): CacheNode {
    const wanted = identity(member);
    const routed = pool.nodes().find((n) => identities.get(n) === wanted);
    if (routed) return routed;
    const node = provider.connect(member);
    identities.set(node, wanted);
    return node;
  }

  async function sync(): Promise<void> {
    const version = await readVersion(db);
    if (version === syncedVersion) return;
    const members = await readMembers(db);
    const current = pool.nodes().map((n) => identities.get(n) ?? n.id).join();
    if (members.map(identity).join() !== current) await pool.follow(members.map(clientFor));
    syncedVersion = version;
  }

  function checkBounds(target: number): void {
    if (!Number.isInteger(target)) throw new AppError(400, `the pool size must be a whole number, got ${target}`);
    if (target < minNodes) throw new AppError(400, `the pool cannot shrink below its minimum of ${plural(minNodes)}`);
    if (target > maxNodes) throw new AppError(400, `the pool cannot grow above its maximum of ${plural(maxNodes)}`);
  }

  /** Entries move before membership changes, and a leaving node stops only after its entries moved. */
  async function transition(members: ProvidedNode[], next: ProvidedNode[], joined: ProvidedNode[]): Promise<MigrationReport> {
    const leaving = members.filter((m) => !next.includes(m));
    let report;
    try {
      report = await pool.resize(next.map(clientFor));
      await commitMembership(db, joined, leaving.map((m) => m.id));
    } catch (err) {
      // Nothing was recorded: route to the recorded members again and stop what we started.
      await pool.follow(members.map(clientFor));
      await Promise.all(joined.map((n) => provider.stop(n.id).catch(() => undefined)));
      throw err;
    }
    syncedVersion = await readVersion(db);
    await Promise.all(leaving.map((m) => provider.stop(m.id).catch((err) => log.warn({ err, node: m.id }, 'node did not stop cleanly'))));
    return report;
  }

  /** Under the lock: the chosen member leaves, the others stay. */
  async function remove(id: string, request: ResizeRequest): Promise<ResizeOutcome> {
    await sync();
    const members = await readMembers(db);
    if (!members.some((m) => m.id === id)) throw new NotFoundError(`the pool has no active node ${id}`);
    const from = members.length;
    checkBounds(from - 1);
    const next = members.filter((m) => m.id !== id);
    const report = await transition(members, next, []);
    await recordScalingEvent(db, { ...request, fromNodes: from, toNodes: next.length });
    log.info({ node: id, from, to: next.length, moved: report.moved, actor: request.actor }, 'pool node removed');
    return { from, to: next.length, message: `stopped ${id}: the pool went from ${plural(from)} to ${plural(next.length)}` };
  }

  /** Under the lock: start or stop nodes, move entries, record membership and the event. */
  async function apply(target: number, request: ResizeRequest): Promise<ResizeOutcome> {
    await sync();
    const members = await readMembers(db);
    const from = members.length;
    const event = { ...request, fromNodes: from, toNodes: target };
    if (target === from) {
      await recordScalingEvent(db, { ...event, reason: `${request.reason} (already ${plural(from)})` });
      return { from, to: target, message: `the pool already has ${plural(from)}` };
    }
    let joined: ProvidedNode[] = [];
    let staying = members;
    if (target > from) {
      const ids = await nextNodeIds(db, target - from);
      const config = await cacheConfig();
      const started = await Promise.allSettled(ids.map((id) => startConfigured(id, config)));
      joined = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure && joined.length === 0) {
        throw new AppError(503, `no cache node could be started: ${(failure.reason as Error).message}`);
      }
    } else {
      staying = members.slice(0, target); // the newest nodes leave first
    }
    const next = [...staying, ...joined];
    const report = await transition(members, next, joined);
    const reached = next.length;
    const shortfall = reached !== target ? ` (only ${reached} of ${target} could be started)` : '';
    await recordScalingEvent(db, { ...event, toNodes: reached, reason: `${request.reason}${shortfall}` });
    log.info({ from, to: reached, moved: report.moved, actor: request.actor }, 'pool resized');
    return { from, to: reached, message: `the pool went from ${plural(from)} to ${plural(reached)}${shortfall}` };
  }

  /** A node starts with defaults; it serves the pool only once it runs the shared configuration. */
  async function startConfigured(id: string, config: CacheConfig): Promise<ProvidedNode> {
    const started = await provider.start(id);
    try {
      await withClient(started, (node) => node.reconfigure(config));
    } catch (err) {
      await provider.stop(id).catch(() => undefined);
      throw new Error(`cache node ${id} started but did not take the configuration: ${(err as Error).message}`, { cause: err });
    }
    return started;
  }

  /**
   * After a sync the pool routes to exactly the live members: sending them the shared
   * configuration again brings a node that restarted in place (its supervisor brought it
   * back on the same address, with the defaults) back in line. Taking the same
   * configuration again changes nothing on a node.
   */
  async function reassertConfiguration(): Promise<void> {
    await pool.reconfigure(await cacheConfig()).catch((err) => log.warn({ err }, 'could not send the cache configuration to every member'));
  }

  return {
    size: async () => (await readMembers(db)).length,
    async resize(target, request) {
      checkBounds(target);
      return local.runExclusive(() => lock.run(() => apply(target, request)));
    },
    sync: () => local.runExclusive(sync),
    removeNode: (id, request) => local.runExclusive(() => lock.run(() => remove(id, request))),
    reconcile() {
      return local.runExclusive(() => lock.run(async () => {
        const members = await readMembers(db);
        const alive = await Promise.all(members.map((m) => isAlive(m)));
        const dead = members.filter((_, i) => !alive[i]);
        if (dead.length > 0) {
          await commitMembership(db, [], dead.map((m) => m.id));
          await Promise.all(dead.map((m) => provider.stop(m.id).catch(() => undefined)));
          log.warn({ nodes: dead.map((m) => m.id) }, 'dropped pool members that no longer answer');
        }
        // Nodes running for us that no membership records (a resize that died half-way) only cost money.
        const recorded = new Set(members.map((m) => m.id));
        const orphans = (await provider.list()).filter((n) => !recorded.has(n.id));
        await Promise.all(orphans.map((n) => provider.stop(n.id).catch(() => undefined)));
        if (orphans.length > 0) log.warn({ nodes: orphans.map((n) => n.id) }, 'stopped nodes the pool does not record');
        await sync();
        await reassertConfiguration();
        const size = members.length - dead.length;
        if (size < minNodes) {
          await apply(minNodes, { actor: 'operator', reason: `reconcile: bring the pool to its minimum of ${plural(minNodes)}` });
        }
      }));
    },
  };

  /** Calls a member through the pool's client, or a temporary one that is closed afterwards. */
  async function withClient<T>(member: ProvidedNode, call: (node: CacheNode) => Promise<T>): Promise<T> {
    const node = clientFor(member);
    try {
      return await call(node);
    } finally {
      if (!pool.nodes().includes(node)) await node.close();
    }
  }

  async function isAlive(member: ProvidedNode): Promise<boolean> {
    try {
      // Dropping a member stops it and loses its cache: one probe lost to a busy moment is not enough.
      return await withClient(member, async (node) => {
        for (let attempt = 1; ; attempt++) {
          if (await node.health()) return true;
          if (attempt === HEALTH_ATTEMPTS) return false;
          await sleep(HEALTH_RETRY_MS);
        }
      });
    } catch {
      return false; // an in-process node of a process that is gone
    }
  }
}
