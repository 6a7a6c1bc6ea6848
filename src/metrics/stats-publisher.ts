import type { FastifyBaseLogger } from 'fastify';
import type { CacheCounters, CacheStats } from '../cache/cache-stats.js';
import { countersOf, sampleBetween } from './counter-deltas.js';
import type { MetricsSink, NodeSample } from './metrics-sink.js';

/** A node whose cumulative counters can be read (in process or over HTTP). */
export type StatsSource = { nodeId: string; stats(): CacheStats | Promise<CacheStats> };

export type StatsPublisherDeps = {
  sink: MetricsSink;
  /** Asked on every tick, so nodes joining or leaving the pool are followed. */
  sources: () => readonly StatsSource[];
  intervalMs?: number;
  now?: () => Date;
  log: Pick<FastifyBaseLogger, 'warn'>;
  /** Unsent samples kept while the sink fails; beyond this the oldest are dropped. */
  maxBacklog?: number;
};

/** Turns the nodes' cumulative counters into per-interval samples for the sink. */
export interface StatsPublisher {
  start(): void;
  /** One tick now; never rejects (failures are logged). Ticks never overlap. */
  publishNow(): Promise<void>;
  /** Stops the timer, then publishes what was counted since the last tick. */
  stop(): Promise<void>;
}

/**
 * A failed publish keeps its samples, with their own timestamps, and sends them with the
 * next tick, so a database hiccup delays numbers instead of losing them; the backlog is
 * bounded so a sink that stays down cannot grow memory without end. This assumes a
 * failed publish stored nothing (true of the database sink: one createMany).
 */
export function createStatsPublisher({
  sink,
  sources,
  intervalMs = 5000,
  now = () => new Date(),
  log,
  maxBacklog = 10_000,
}: StatsPublisherDeps): StatsPublisher {
  const previous = new Map<string, CacheCounters>();
  let backlog: NodeSample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();

  async function collect(): Promise<NodeSample[]> {
    const at = now();
    const current = sources();
    const live = new Set(current.map((s) => s.nodeId));
    // A node that left and comes back under the same id starts counting from zero again.
    for (const nodeId of previous.keys()) if (!live.has(nodeId)) previous.delete(nodeId);
    const results = await Promise.allSettled(current.map(async (source) => source.stats()));
    const samples: NodeSample[] = [];
    results.forEach((result, i) => {
      const { nodeId } = current[i]!;
      if (result.status === 'rejected') {
        // Its counters keep growing, so the next successful read covers this interval too.
        log.warn({ err: result.reason, nodeId }, 'reading node stats failed');
        return;
      }
      samples.push(sampleBetween(nodeId, at, previous.get(nodeId), result.value));
      previous.set(nodeId, countersOf(result.value));
    });
    return samples;
  }

  async function tick(): Promise<void> {
    try {
      const batch = [...backlog, ...(await collect())];
      if (batch.length === 0) return;
      try {
        await sink.publish(batch);
        backlog = [];
      } catch (err) {
        const dropped = Math.max(0, batch.length - maxBacklog);
        backlog = batch.slice(dropped);
        log.warn({ err, kept: backlog.length, dropped }, 'publishing node stats failed; retrying with the next tick');
      }
    } catch (err) {
      log.warn({ err }, 'collecting node stats failed');
    }
  }

  function publishNow(): Promise<void> {
    queue = queue.then(tick);
    return queue;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void publishNow(), intervalMs);
      timer.unref();
    },
    publishNow,
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await publishNow();
    },
  };
}
