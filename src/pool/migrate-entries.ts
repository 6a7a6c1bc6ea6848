import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CacheNode } from './cache-node.js';
import type { Router } from './router.js';

// Entries move in batches so no single request carries a whole node's memory.
const BATCH_KEYS = 64;
// In-process nodes answer without I/O, so a move would otherwise run in one turn of the event
// loop (17,000 entries blocked it for ~250 ms); it yields every slice so look-ups go through.
const KEYS_PER_TURN = 512;

export type MigrationReport = { moved: number; lost: number; failedSources: string[] };

type MigrateOptions = {
  sources: readonly CacheNode[];
  targets: ReadonlyMap<string, CacheNode>;
  router: Router;
  /** Keys invalidated while the move runs; a copy of one that lands on its new owner is removed again. */
  invalidated: ReadonlySet<string>;
  isSuspect: (id: string) => boolean;
};

/**
 * Moves every entry whose owner changed to its new owner, least recently used
 * first so the new owner keeps the recency order, and removes it from the old
 * one only after the new one has it. A source that fails loses its entries
 * (they are re-read from the image store later), never the whole resize.
 */
export async function migrateEntries({ sources, targets, router, invalidated, isSuspect }: MigrateOptions): Promise<MigrationReport> {
  const report: MigrationReport = { moved: 0, lost: 0, failedSources: [] };
  for (const source of sources) {
    if (isSuspect(source.id)) {
      report.failedSources.push(source.id);
      continue;
    }
    try {
      const byOwner = new Map<string, string[]>();
      let routed = 0;
      for (const key of await source.keys()) {
        if (++routed % KEYS_PER_TURN === 0) await nextTurn();
        const owner = router.lookup(key);
        if (owner === source.id) continue;
        const list = byOwner.get(owner) ?? [];
        list.push(key);
        byOwner.set(owner, list);
      }
      for (const [owner, keys] of byOwner) {
        const target = targets.get(owner)!;
        for (let i = 0; i < keys.length; i += BATCH_KEYS) {
          const batch = keys.slice(i, i + BATCH_KEYS);
          const entries = (await source.exportEntries(batch)).filter((e) => !invalidated.has(e.key));
          const stored = await target.importEntries(entries);
          const raced = entries.filter((e) => invalidated.has(e.key)).map((e) => e.key);
          if (raced.length > 0) await target.removeEntries(raced);
          await source.removeEntries(batch);
          report.moved += stored;
          report.lost += entries.length - stored;
          if (i % KEYS_PER_TURN === 0) await nextTurn();
        }
      }
    } catch {
      report.failedSources.push(source.id);
    }
  }
  return report;
}
