import type { FastifyBaseLogger } from 'fastify';
import { Mutex } from 'async-mutex';
import type { CacheStats } from '../cache/cache-stats.js';
import type { CacheConfig, CacheValue } from '../cache/cache-types.js';
import type { CacheNode } from './cache-node.js';
import { migrateEntries, type MigrationReport } from './migrate-entries.js';
import { createNearCache } from './near-cache.js';
import { createRevalidationBatches } from './revalidation-batches.js';
import { createRouter, type Router, type RouterKind } from './router.js';
import { createSuspectNodes } from './suspect-nodes.js';

export type NodeStatus = { id: string; suspect: boolean; errors: number; stats?: CacheStats; error?: string };

/** The cache tier as the web path sees it: routing, failure handling, resizing with migration. */
export interface CachePool {
  nodes(): readonly CacheNode[];
  /**
   * A hit, or undefined on a miss — also when the owner failed (it is then marked suspect).
   * With a near cache, a copy held here is sent to the owner for revalidation and used
   * only when the owner still stores that version.
   */
  get(key: string): Promise<CacheValue | undefined>;
  /**
   * The near cache's copy, not revalidated: only for a caller that checks its ETag against
   * the database row (refilling a node that lost the entry without reading the image store).
   */
  nearCopy(key: string): CacheValue | undefined;
  put(key: string, value: CacheValue): Promise<void>;
  invalidate(key: string): Promise<void>;
  clear(): Promise<void>;
  reconfigure(config: CacheConfig): Promise<void>;
  /** A row per node; one failing node shows its error and never fails the rest. */
  status(): Promise<NodeStatus[]>;
  /**
   * Routes to `next` from now on, moving entries whose owner changed. While they
   * move, a miss on a new owner reads the old owner. Nodes that left are closed
   * only after their entries moved; resizes are serialised.
   */
  resize(next: readonly CacheNode[]): Promise<MigrationReport>;
  /**
   * Routes to `next` without moving anything: another process changed the pool
   * and moved the entries already. Nodes that left are closed.
   */
  follow(next: readonly CacheNode[]): Promise<void>;
  close(): Promise<void>;
}

/** An empty pool (before the first node starts) has no router: every look-up is a miss. */
type Layout = { nodes: readonly CacheNode[]; byId: ReadonlyMap<string, CacheNode>; router: Router | undefined };

export function createCachePool(options: {
  nodes: readonly CacheNode[];
  routing: RouterKind;
  log: FastifyBaseLogger;
  probeIntervalMs?: number;
  /** The near cache's budget (0 or none: off). Worth it only with remote nodes. */
  nearCacheBytes?: number;
}): CachePool {
  const { routing, log } = options;
  const near = createNearCache(options.nearCacheBytes ?? 0);
  const revalidate = createRevalidationBatches();
  const suspects = createSuspectNodes({ log, probeIntervalMs: options.probeIntervalMs ?? 1000 });
  const layoutOf = (nodes: readonly CacheNode[]): Layout => ({
    nodes,
    byId: new Map(nodes.map((n) => [n.id, n])),
    router: nodes.length > 0 ? createRouter(routing, nodes.map((n) => n.id)) : undefined,
  });
  let current = layoutOf(options.nodes);
  let previous: Layout | undefined;
  let invalidatedDuringMove = new Set<string>();
  const resizing = new Mutex();
  suspects.track(current.nodes);

  const ownerIn = (layout: Layout, key: string) => layout.router && layout.byId.get(layout.router.lookup(key));

  /** Runs one node operation; a failure marks the node suspect and yields `fallback`. */
  async function guarded<T>(node: CacheNode, operation: string, run: () => Promise<T>, fallback: T): Promise<T> {
    if (suspects.isSuspect(node.id)) return fallback;
    try {
      return await run();
    } catch (err) {
      suspects.mark(node, operation, err);
      return fallback;
    }
  }

  /** Every node a key may live on now: its owner, and during a move its old owner. */
  function holdersOf(key: string): CacheNode[] {
    const owner = ownerIn(current, key);
    const old = previous && ownerIn(previous, key);
    return [owner, old].filter((n, i, all): n is CacheNode => n !== undefined && all.indexOf(n) === i);
  }

  async function invalidateOn(node: CacheNode, key: string): Promise<void> {
    if (suspects.isSuspect(node.id)) return suspects.missedInvalidation(node.id, key);
    try {
      await node.invalidate(key);
    } catch (err) {
      suspects.mark(node, 'invalidate', err);
      suspects.missedInvalidation(node.id, key);
    }
  }

  async function closeLeavers(before: Layout): Promise<void> {
    await Promise.all(before.nodes.filter((n) => current.byId.get(n.id) !== n).map((n) => n.close()));
  }

  return {
    nodes: () => current.nodes,

    async get(key) {
      // The hit path: the old owner (holdersOf) is looked up only on a miss during a move.
      const owner = ownerIn(current, key);
      if (!owner) return undefined;
      const moving = previous;
      const copy = near?.get(key);
      const ask = copy ? () => revalidate(`${owner.id}\n${copy.etag}\n${key}`, (lookups) => owner.get(key, copy, lookups)) : () => owner.get(key);
      let hit = await guarded(owner, 'get', ask, undefined);
      const old = !hit && moving ? ownerIn(moving, key) : undefined;
      if (old && old !== owner) hit = await guarded(old, 'peek', () => old.peek(key, copy), undefined);
      if (hit && hit !== copy) near?.set(key, hit);
      return hit;
    },

    nearCopy: (key) => near?.get(key),

    async put(key, value) {
      near?.set(key, value);
      const owner = ownerIn(current, key);
      if (owner) await guarded(owner, 'put', () => owner.put(key, value), false);
    },

    async invalidate(key) {
      near?.delete(key);
      if (previous) invalidatedDuringMove.add(key);
      await Promise.all(holdersOf(key).map((node) => invalidateOn(node, key)));
    },

    async clear() {
      near?.clear();
      const nodes = new Set([...current.nodes, ...(previous?.nodes ?? [])]);
      await Promise.all(
        [...nodes].map((node) =>
          node.clear().catch((err) => {
            suspects.mark(node, 'clear', err);
            suspects.missedClear(node.id);
          }),
        ),
      );
    },

    async reconfigure(config) {
      // Every node must run the same configuration, so a failure here is the caller's to report.
      await Promise.all(current.nodes.map((node) => node.reconfigure(config)));
    },

    async status() {
      return Promise.all(
        current.nodes.map(async (node): Promise<NodeStatus> => {
          const row = { id: node.id, suspect: suspects.isSuspect(node.id), errors: suspects.errors(node.id) };
          try {
            return { ...row, stats: await node.stats() };
          } catch (err) {
            return { ...row, error: (err as Error).message };
          }
        }),
      );
    },

    resize(next) {
      return resizing.runExclusive(async () => {
        const before = current;
        current = layoutOf(next);
        previous = before;
        invalidatedDuringMove = new Set();
        suspects.track([...new Set([...before.nodes, ...next])]);
        try {
          const report = await migrateEntries({
            sources: current.router ? before.nodes : [],
            targets: current.byId,
            router: current.router!,
            invalidated: invalidatedDuringMove,
            isSuspect: suspects.isSuspect,
          });
          log.info({ from: before.nodes.length, to: next.length, ...report }, 'cache pool resized');
          return report;
        } finally {
          previous = undefined;
          suspects.track(current.nodes);
          await closeLeavers(before);
        }
      });
    },

    follow(next) {
      return resizing.runExclusive(async () => {
        const before = current;
        current = layoutOf(next);
        suspects.track(current.nodes);
        await closeLeavers(before);
      });
    },

    async close() {
      suspects.close();
      await Promise.all(current.nodes.map((n) => n.close()));
    },
  };
}
