import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.js';
import type { PolicyMode } from './policy-fields.js';
import type { PoolController, ResizeOutcome, ResizeRequest } from './pool-controller.js';
import type { PoolName } from './pool-name.js';
import { recordScalingEvent } from './scaling-events.js';

/** What a decision saw, stored with its event (miss rate for the cache pool, CPU for the web pool). */
export type DecisionSeen = Omit<ResizeRequest, 'actor' | 'reason'>;

/** `target === size` means no change. */
export type PoolDecision = { target: number; reason: string; seen: DecisionSeen };

/** One pool's rules as the loop runs them (scaler-rules.ts has the cache pool's and the web pool's). */
export interface PoolScaling<P extends { mode: PolicyMode } = { mode: PolicyMode }> {
  readonly pool: PoolName;
  readonly controller: PoolController;
  /** Read on every tick and again before a resize: an operator may switch to manual at any time. */
  loadPolicy(): Promise<P>;
  /** Reads the pool's statistics at `at` and decides from `size` under `policy`. */
  decide(at: Date, size: number, policy: P): Promise<PoolDecision>;
}

export type ScalerLoopDeps = {
  db: Db;
  /** Decided in turn on every tick. */
  pools: readonly PoolScaling[];
  /** Time between ticks. */
  intervalMs: number;
  now?: () => Date;
  log: Pick<FastifyBaseLogger, 'info' | 'error'>;
};

/** What one tick did for one pool. `manual`: nothing was read, decided or recorded. */
export type ScalerTick =
  | { status: 'manual' }
  | { status: 'kept'; decision: PoolDecision }
  | { status: 'resized'; decision: PoolDecision; outcome: ResizeOutcome }
  | { status: 'failed'; error: unknown };

export type ScalerTicks = Partial<Record<PoolName, ScalerTick>>;

export interface ScalerLoop {
  start(): void;
  /** One decision per pool now; never rejects (failures are logged per pool). A tick already running is joined, not repeated. */
  tick(): Promise<ScalerTicks>;
  /** Stops the timer and waits for a running tick. */
  stop(): Promise<void>;
}

const membersWord = (pool: PoolName) => (pool === 'cache' ? 'nodes' : 'workers');

/**
 * The automatic half of SPEC §5, for every pool. Policies are read from the database on every
 * tick, so a change made on another host takes effect without a restart.
 */
export function createScalerLoop({ db, pools, intervalMs, now = () => new Date(), log }: ScalerLoopDeps): ScalerLoop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ScalerTicks> | undefined;

  async function decideOne(scaling: PoolScaling): Promise<ScalerTick> {
    const { pool, controller } = scaling;
    const policy = await scaling.loadPolicy();
    if (policy.mode === 'manual') return { status: 'manual' };
    const at = now();
    const size = await controller.size();
    const decision = await scaling.decide(at, size, policy);
    if (decision.target === size) {
      await recordScalingEvent(db, { pool, actor: 'scaler', fromNodes: size, toNodes: size, reason: decision.reason, ...decision.seen }, at);
      return { status: 'kept', decision };
    }
    // An operator may have switched to manual while we were reading; that switch wins at once.
    if ((await scaling.loadPolicy()).mode === 'manual') return { status: 'manual' };
    const outcome = await controller.resize(decision.target, { actor: 'scaler', reason: decision.reason, ...decision.seen });
    log.info({ pool, from: outcome.from, to: outcome.to, reason: decision.reason }, `scaler resized the ${pool} pool (${membersWord(pool)})`);
    return { status: 'resized', decision, outcome };
  }

  async function run(): Promise<ScalerTicks> {
    const ticks: ScalerTicks = {};
    // In turn, not at once: each pool's failure is its own, and the database sees one decision at a time.
    for (const scaling of pools) {
      ticks[scaling.pool] = await decideOne(scaling).catch((error: unknown): ScalerTick => {
        log.error({ err: error, pool: scaling.pool }, `scaler tick for the ${scaling.pool} pool failed; trying again on the next one`);
        return { status: 'failed', error };
      });
    }
    return ticks;
  }

  function tick(): Promise<ScalerTicks> {
    running ??= run().finally(() => {
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
