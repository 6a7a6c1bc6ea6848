import type { Db } from '../db/database.js';
import type { MetricsSink } from '../metrics/metrics-sink.js';
import type { PoolController } from './pool-controller.js';
import type { PoolScaling } from './scaler-loop.js';
import { decide, type ScalerPolicy } from './scaler-policy.js';
import { loadScalerPolicy } from './scaler-policy-store.js';
import { lastResizeAt } from './scaling-events.js';
import { decideWorkers, type WorkerPolicy } from './worker-policy.js';
import { loadWorkerPolicy } from './worker-policy-store.js';

/** The end of a window decided on at `at`: where every published sample is readable (CloudWatch's last points arrive late). */
const readableUntil = (at: Date, readLagMs = 0) => new Date(at.getTime() - readLagMs);

/** The cache pool: sized by the miss rate over the last `windowMs` (SPEC §5). */
export function cacheScaling({
  db,
  metrics,
  controller,
  minNodes,
  maxNodes,
  windowMs,
}: {
  db: Db;
  metrics: Pick<MetricsSink, 'totals' | 'readLagMs'>;
  controller: PoolController;
  minNodes: number;
  maxNodes: number;
  windowMs: number;
}): PoolScaling<ScalerPolicy> {
  return {
    pool: 'cache',
    controller,
    loadPolicy: () => loadScalerPolicy(db),
    async decide(at, nodes, policy) {
      const windowEnd = readableUntil(at, metrics.readLagMs);
      const windowStart = new Date(windowEnd.getTime() - windowMs);
      const [totals, lastResize] = await Promise.all([metrics.totals(windowStart, windowEnd), lastResizeAt(db, 'cache')]);
      // Statistics from before a resize describe a different pool; decide only on a window gathered after it.
      const fullWindow = lastResize === undefined || lastResize.getTime() <= windowStart.getTime();
      const { target, reason, missRate } = decide({ policy, nodes, minNodes, maxNodes, window: totals, fullWindow });
      return { target, reason, seen: { missRate, lookups: totals.lookups, maxMiss: policy.maxMissRate, minMiss: policy.minMissRate } };
    },
  };
}

/** The web pool: sized by its workers' CPU over the last `cpuWindowMs`, holding for the cool-down after a resize. */
export function webScaling({
  db,
  metrics,
  controller,
  minWorkers,
  maxWorkers,
  cpuWindowMs,
}: {
  db: Db;
  metrics: Pick<MetricsSink, 'workerWindow' | 'readLagMs'>;
  controller: PoolController;
  minWorkers: number;
  maxWorkers: number;
  cpuWindowMs: number;
}): PoolScaling<WorkerPolicy> {
  return {
    pool: 'web',
    controller,
    loadPolicy: () => loadWorkerPolicy(db),
    async decide(at, workers, policy) {
      const windowEnd = readableUntil(at, metrics.readLagMs);
      const [window, lastResize] = await Promise.all([
        metrics.workerWindow(new Date(windowEnd.getTime() - cpuWindowMs), windowEnd),
        lastResizeAt(db, 'web'),
      ]);
      const msSinceResize = lastResize === undefined ? undefined : at.getTime() - lastResize.getTime();
      const { target, reason, cpu } = decideWorkers({ policy, workers, minWorkers, maxWorkers, window, windowMs: cpuWindowMs, msSinceResize });
      return { target, reason, seen: { cpu, growCpu: policy.growCpu, shrinkCpu: policy.shrinkCpu } };
    },
  };
}
