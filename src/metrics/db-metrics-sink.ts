import type { FastifyBaseLogger } from 'fastify';
import { hitRate, missRate } from '../cache/cache-stats.js';
import type { Db } from '../db/database.js';
import type { MetricsSink, NodeSample, WindowTotals, WorkerStats, WorkerWindow } from './metrics-sink.js';
import { bucketByMinute, floorToMinute, MINUTE_MS } from './minute-series.js';
import { bucketWorkersByMinute, minutesUntil, workerWindowOf } from './worker-series.js';

export type DbMetricsSinkDeps = {
  db: Db;
  /** Samples older than this are deleted; the charts need 30 minutes, the scaler one. */
  retentionMs?: number;
  /** Pruning is a table scan by `at`; doing it on every 5-second publish would be waste. */
  pruneEveryMs?: number;
  now?: () => Date;
  /** Told about failed prunes, which never fail a publish (its samples are already stored). */
  log?: Pick<FastifyBaseLogger, 'warn'>;
};

/** The embedded sink: samples live in the MetricSample and WorkerSample tables (SQLite or PostgreSQL). */
export function createDbMetricsSink({
  db,
  retentionMs = 24 * 60 * MINUTE_MS,
  pruneEveryMs = MINUTE_MS,
  now = () => new Date(),
  log,
}: DbMetricsSinkDeps): MetricsSink {
  let lastPruneMs = Number.NEGATIVE_INFINITY;
  let pruning: Promise<void> | undefined;

  async function prune(): Promise<void> {
    const nowMs = now().getTime();
    if (pruning || nowMs - lastPruneMs < pruneEveryMs) return;
    // Claimed before the delete, so a failing database is retried once a minute, not per publish.
    lastPruneMs = nowMs;
    const old = { where: { at: { lt: new Date(nowMs - retentionMs) } } };
    pruning = Promise.all([db.metricSample.deleteMany(old), db.workerSample.deleteMany(old)])
      .then(
        () => undefined,
        (err: unknown) => log?.warn({ err }, 'pruning old metric samples failed'),
      )
      .finally(() => {
        pruning = undefined;
      });
    await pruning;
  }

  return {
    async publish(samples: readonly NodeSample[]) {
      if (samples.length > 0) {
        await db.metricSample.createMany({ data: samples.map((s) => ({ ...s, bytes: BigInt(Math.round(s.bytes)) })) });
      }
      await prune();
    },

    async totals(from: Date, to: Date): Promise<WindowTotals> {
      const { _sum: sum, _count: count } = await db.metricSample.aggregate({
        where: { at: { gte: from, lt: to } },
        _sum: { lookups: true, hits: true, misses: true, puts: true, requests: true },
        _count: { _all: true },
      });
      const counts = {
        lookups: sum.lookups ?? 0,
        hits: sum.hits ?? 0,
        misses: sum.misses ?? 0,
        puts: sum.puts ?? 0,
        requests: sum.requests ?? 0,
      };
      return { reported: count._all > 0, ...counts, missRate: missRate(counts), hitRate: hitRate(counts) };
    },

    async series(from: Date, minutes: number) {
      const start = floorToMinute(from);
      const rows = await db.metricSample.findMany({
        where: { at: { gte: start, lt: new Date(start.getTime() + minutes * MINUTE_MS) } },
        orderBy: [{ at: 'asc' }, { id: 'asc' }],
        select: { nodeId: true, at: true, lookups: true, hits: true, misses: true, requests: true, items: true, bytes: true },
      });
      return bucketByMinute(rows.map((r) => ({ ...r, bytes: Number(r.bytes) })), start, minutes);
    },

    async publishWorkers(samples: readonly WorkerStats[]) {
      if (samples.length > 0) {
        await db.workerSample.createMany({
          data: samples.map(({ workerId, at, cpu, requests, bytesIn, bytesOut }) => ({
            workerId,
            at,
            cpu,
            requests,
            bytesIn: BigInt(Math.round(bytesIn)),
            bytesOut: BigInt(Math.round(bytesOut)),
          })),
        });
      }
      await prune();
    },

    async workerWindow(from: Date, to: Date): Promise<WorkerWindow> {
      const groups = await db.workerSample.groupBy({
        by: ['workerId'],
        where: { at: { gte: from, lt: to } },
        _sum: { cpu: true },
        _count: { _all: true },
      });
      return workerWindowOf(groups.map((g) => ({ sum: g._sum.cpu ?? 0, count: g._count._all })));
    },

    async workerSeries(from: Date, to: Date, workerId?: string) {
      const start = floorToMinute(from);
      const rows = await db.workerSample.findMany({
        where: { at: { gte: start, lt: to }, ...(workerId === undefined ? {} : { workerId }) },
        select: { workerId: true, at: true, cpu: true, requests: true, bytesIn: true, bytesOut: true },
      });
      const minutes = minutesUntil(start, to);
      return bucketWorkersByMinute(rows.map((r) => ({ ...r, bytesIn: Number(r.bytesIn), bytesOut: Number(r.bytesOut) })), start, minutes);
    },

    // The client belongs to whoever created it; only an in-flight prune is ours to finish.
    async close() {
      await pruning;
    },
  };
}
