import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.js';
import { ensureDesiredSize } from './desired-state.js';
import type { LeaderLease } from './leader-lease.js';
import type { MemberProvider } from './member-provider.js';
import { createPoolConvergence, type PoolConvergence, type PoolSteps } from './pool-convergence.js';
import { readMembers } from './pool-membership.js';
import type { PoolBounds, PoolName } from './pool-name.js';
import { notOverlapping } from './not-overlapping.js';

/** One pool the leader sizes. */
export type ManagedPool = {
  name: PoolName;
  bounds: PoolBounds;
  /**
   * Made when this process first leads: a process that never leads holds no provider (and no
   * cloud client, no forked worker).
   */
  open: () => Promise<{ provider: MemberProvider; steps: PoolSteps }>;
};

type Deps = {
  db: Db;
  /** Converged in this order in every pass (the cache pool first: web workers need its nodes). */
  pools: readonly ManagedPool[];
  lease: LeaderLease;
  /** Time between passes (a desired change written elsewhere is seen within it). */
  intervalMs: number;
  /** Renewal of the lease, and how often a standby looks for a lapsed one. */
  leaseIntervalMs: number;
  /** How often the leader checks every member's health and retries a growth that fell short. */
  healthIntervalMs: number;
  log: FastifyBaseLogger;
};

type Opened = { name: PoolName; provider: MemberProvider; convergence: PoolConvergence };

/**
 * Among the managing processes, the holder of the one lease applies the desired state of every
 * pool; the others only watch the lease. One loop: each pass converges each pool in turn.
 * Renewal runs on its own timer, so a pass that waits for a booting member never lets the
 * lease lapse; a pass that outlives the lease is fenced at its next membership write.
 */
export function createPoolLeader({ db, pools, lease, intervalMs, leaseIntervalMs, healthIntervalMs, log }: Deps) {
  const opened = new Map<PoolName, Opened>();
  let leading = false;
  let lastHealthAt = 0;
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  async function elect(): Promise<void> {
    for (const pool of pools) {
      if (!opened.has(pool.name)) {
        const { provider, steps } = await pool.open();
        opened.set(pool.name, { name: pool.name, provider, convergence: createPoolConvergence({ db, pool: pool.name, provider, steps, log }) });
      }
      await ensureDesiredSize(db, pool.name, pool.bounds);
      await opened.get(pool.name)!.provider.adopt?.(await readMembers(db, pool.name));
    }
    lastHealthAt = 0; // a new leader first checks what it inherited
    leading = true;
  }

  // Renewals and elections take turns: two at once could elect (and open a provider) twice.
  let leaseTurn: Promise<void> = Promise.resolve();
  const keepLease = () => (leaseTurn = leaseTurn.then(refreshLease));

  async function refreshLease(): Promise<void> {
    try {
      const held = await lease.refresh();
      if (held && !leading) {
        await elect();
        log.info({ generation: held.generation, pools: pools.map((p) => p.name) }, 'this manager leads the pools');
      } else if (!held && leading) {
        leading = false;
        log.warn('this manager lost the pool lease; another manager leads now');
      }
    } catch (err) {
      // Unsure whether our renewal landed: stop acting; the fence refuses anything late.
      if (leading) log.warn({ err }, 'could not renew the pool lease; standing down until it is renewed');
      leading = false;
      lease.drop();
    }
  }

  async function pass(): Promise<void> {
    const held = lease.current();
    if (!leading || !held) return;
    const checkHealth = Date.now() - lastHealthAt >= healthIntervalMs;
    if (checkHealth) lastHealthAt = Date.now();
    for (const pool of pools) {
      const conv = opened.get(pool.name)?.convergence;
      if (!conv) continue;
      // One pool that cannot be converged does not hold the other back.
      try {
        const note = await conv.pass(held, { checkHealth });
        if (note) log.warn({ pool: pool.name, note }, 'the pool is short of its desired state');
      } catch (err) {
        log.warn({ err, pool: pool.name }, 'could not apply the desired pool state; trying again');
      }
    }
  }

  /** One pass now; while one runs, one more after it (however many ask meanwhile), which sees what they wrote. */
  function kick(): Promise<void> {
    if (running) {
      queued ??= running.then(() => {
        queued = undefined;
        return kick();
      });
      return queued;
    }
    running = pass().finally(() => (running = undefined));
    return running;
  }

  return {
    isLeading: () => leading,
    /** A pool's provider, once this process has led. */
    provider: (pool: PoolName = 'cache') => opened.get(pool)?.provider,
    /** Takes the lease if free and applies the desired state once: what a manager does at start. */
    async lead(): Promise<boolean> {
      await keepLease();
      await kick();
      return leading;
    },
    kick,
    /** A pass that also checks every member's health now (and retries a short growth). */
    async reconcile(): Promise<void> {
      await (queued ?? running);
      lastHealthAt = 0;
      await kick();
    },
    start() {
      timers.push(setInterval(notOverlapping(keepLease), leaseIntervalMs).unref());
      timers.push(setInterval(() => void kick(), intervalMs).unref());
      void keepLease().then(kick);
    },
    /** Stops the loops, hands the lease back and closes the providers (which stop or let go of their members), web pool first. */
    async close(): Promise<void> {
      for (const timer of timers) clearInterval(timer);
      await (queued ?? running);
      leading = false;
      await lease.release().catch((err) => log.warn({ err }, 'could not hand the pool lease back'));
      for (const pool of [...pools].reverse()) await opened.get(pool.name)?.provider.close();
    },
  };
}

export type PoolLeader = ReturnType<typeof createPoolLeader>;
