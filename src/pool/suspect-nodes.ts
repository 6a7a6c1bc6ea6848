import type { FastifyBaseLogger } from 'fastify';
import type { CacheNode } from './cache-node.js';

// Invalidations a suspect node missed are replayed when it heals; past this many
// it is cheaper and safer to clear the node than to replay them.
const MAX_PENDING = 10_000;

type Suspect = { since: number; errors: number; pending: Set<string> | 'clear' };

/**
 * Nodes that failed recently. The pool skips them (a look-up becomes a miss
 * served from the image store) and a probe loop lets them back once their
 * health check answers and they have caught up on the invalidations they missed.
 */
export function createSuspectNodes({ log, probeIntervalMs }: { log: FastifyBaseLogger; probeIntervalMs: number }) {
  const suspects = new Map<string, Suspect>();
  let nodes = new Map<string, CacheNode>();
  let timer: NodeJS.Timeout | undefined;
  let probing = false;
  const errorCounts = new Map<string, number>();

  async function probe(): Promise<void> {
    if (probing) return;
    probing = true;
    try {
      for (const [id, suspect] of suspects) {
        const node = nodes.get(id);
        if (!node) {
          suspects.delete(id);
          continue;
        }
        if (!(await node.health())) continue;
        try {
          if (suspect.pending === 'clear') await node.clear();
          else for (const key of suspect.pending) await node.invalidate(key);
          suspects.delete(id);
          log.info({ node: id, downMs: Date.now() - suspect.since }, 'cache node healthy again');
        } catch {
          // Still flaky: stay suspect and try again on the next probe.
        }
      }
    } finally {
      probing = false;
      if (suspects.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    }
  }

  return {
    /** The node set the pool routes to now; suspects that left it are forgotten. */
    track(current: readonly CacheNode[]): void {
      const next = new Map(current.map((n) => [n.id, n]));
      // A suspect that left, or whose id now names another node (a replacement process), is forgotten:
      // what it missed died with it, and the new node must not wait for the old one's probe.
      for (const id of suspects.keys()) if (next.get(id) !== nodes.get(id)) suspects.delete(id);
      nodes = next;
    },
    isSuspect: (id: string) => suspects.has(id),
    /** Records a failure; the node is skipped until it heals. */
    mark(node: CacheNode, operation: string, err: unknown): void {
      errorCounts.set(node.id, (errorCounts.get(node.id) ?? 0) + 1);
      const existing = suspects.get(node.id);
      if (existing) {
        existing.errors++;
        return;
      }
      log.warn({ node: node.id, operation, err }, 'cache node failed; serving its keys from the image store');
      suspects.set(node.id, { since: Date.now(), errors: 1, pending: new Set() });
      timer ??= setInterval(() => void probe(), probeIntervalMs).unref();
    },
    /** An invalidation the node could not take: replay it before trusting the node again. */
    missedInvalidation(id: string, key: string): void {
      const suspect = suspects.get(id);
      if (!suspect || suspect.pending === 'clear') return;
      suspect.pending.add(key);
      if (suspect.pending.size > MAX_PENDING) suspect.pending = 'clear';
    },
    missedClear(id: string): void {
      const suspect = suspects.get(id);
      if (suspect) suspect.pending = 'clear';
    },
    errors: (id: string) => errorCounts.get(id) ?? 0,
    probeNow: probe,
    close(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

export type SuspectNodes = ReturnType<typeof createSuspectNodes>;
