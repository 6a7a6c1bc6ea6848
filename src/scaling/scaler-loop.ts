import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.js';
import type { MetricsSink } from '../metrics/metrics-sink.js';
import type { PoolController, ResizeOutcome } from './pool-controller.js';
import { decide, type Decision } from './scaler-policy.js';
import { loadScalerPolicy } from './scaler-policy-store.js';
import { lastResizeAt, recordScalingEvent } from './scaling-events.js';

export type ScalerLoopDeps = {
  db: Db;
  metrics: Pick<MetricsSink, 'totals' | 'readLagMs'>;
  controller: PoolController;
  minNodes: number;
  maxNodes: number;
  /** Time between decisions, and the window of statistics each decision looks at. */
  intervalMs: number;
  now?: () => Date;
  log: Pick<FastifyBaseLogger, 'info' | 'error'>;
};

/** What one tick did. `manual`: nothing was read, decided or recorded. */
export type ScalerTick =
  | { status: 'manual' }
  | { status: 'kept'; decision: Decision }
  | { status: 'resized'; decision: Decision; outcome: ResizeOutcome }
  | { status: 'failed'; error: unknown };

export interface ScalerLoop {
  start(): void;
  /** One decision now; never rejects (failures are logged). A tick already running is joined, not repeated. */
  tick(): Promise<ScalerTick>;
  /** Stops the timer and waits for a running tick. */
  stop(): Promise<void>;
}

/**
 * The automatic half of SPEC §5. The policy is read from the database on every tick, so
 * a change made on another host takes effect without a restart.
 */
export function createScalerLoop({
  db,
  metrics,
  controller,
  minNodes,
  maxNodes,
  intervalMs,
  now = () => new Date(),
  log,
}: ScalerLoopDeps): ScalerLoop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ScalerTick> | undefined;

  async function run(): Promise<ScalerTick> {
    const policy = await loadScalerPolicy(db);
    if (policy.mode === 'manual') return { status: 'manual' };

    const at = now();
    // The window ends where every published sample is readable: CloudWatch's last points arrive late.
    const windowEnd = new Date(at.getTime() - (metrics.readLagMs ?? 0));
    const windowStart = new Date(windowEnd.getTime() - intervalMs);
    const [totals, nodes, lastResize] = await Promise.all([
      metrics.totals(windowStart, windowEnd),
      controller.size(),
      lastResizeAt(db, 'cache'),
    ]);
    // Statistics from before a resize describe a different pool; decide only on a window gathered after it.
    const fullWindow = lastResize === undefined || lastResize.getTime() <= windowStart.getTime();
    const decision = decide({ policy, nodes, minNodes, maxNodes, window: totals, fullWindow });
    const seen = { missRate: decision.missRate, lookups: totals.lookups, maxMiss: policy.maxMissRate, minMiss: policy.minMissRate };

    if (decision.target === nodes) {
      await recordScalingEvent(db, { pool: 'cache', actor: 'scaler', fromNodes: nodes, toNodes: nodes, reason: decision.reason, ...seen }, at);
      return { status: 'kept', decision };
    }
    // An operator may have switched to manual while we were reading; that switch wins at once.
    if ((await loadScalerPolicy(db)).mode === 'manual') return { status: 'manual' };
    const outcome = await controller.resize(decision.target, { actor: 'scaler', reason: decision.reason, ...seen });
    log.info({ from: outcome.from, to: outcome.to, reason: decision.reason }, 'scaler resized the pool');
    return { status: 'resized', decision, outcome };
  }

  function tick(): Promise<ScalerTick> {
    running ??= run()
      .catch((error: unknown): ScalerTick => {
        log.error({ err: error }, 'scaler tick failed; trying again on the next one');
        return { status: 'failed', error };
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
    },
    tick,
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
