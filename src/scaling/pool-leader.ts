import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.js';
import type { CachePool } from '../pool/cache-pool.js';
import { ensureDesiredSize, type PoolBounds } from './desired-state.js';
import type { LeaderLease } from './leader-lease.js';
import type { NodeProvider } from './node-provider.js';
import { createPoolConvergence, type PoolConvergence } from './pool-convergence.js';
import type { PoolMembers } from './pool-members.js';
import { readMembers } from './pool-membership.js';
import { createPoolTransition } from './pool-transition.js';
import { notOverlapping } from './not-overlapping.js';

type Deps = {
  db: Db;
  pool: CachePool;
  members: PoolMembers;
  lease: LeaderLease;
  /** Made when this process first leads: a process that never leads holds no provider (and no cloud client). */
  openProvider: () => Promise<NodeProvider>;
  bounds: PoolBounds;
  /** Time between passes (a desired change written elsewhere is seen within it). */
  intervalMs: number;
  /** Renewal of the lease, and how often a standby looks for a lapsed one. */
  leaseIntervalMs: number;
  /** How often the leader checks every member's health and retries a growth that fell short. */
  healthIntervalMs: number;
  log: FastifyBaseLogger;
};

/**
 * Among the managing processes, the holder of the lease applies the desired state; the
 * others only watch the lease. Renewal runs on its own timer, so a pass that waits for a
 * booting node never lets the lease lapse; a pass that outlives the lease is fenced at its
 * next membership write.
 */
export function createPoolLeader({ db, pool, members, lease, openProvider, bounds, intervalMs, leaseIntervalMs, healthIntervalMs, log }: Deps) {
  let provider: NodeProvider | undefined;
  let convergence: PoolConvergence | undefined;
  let leading = false;
  let lastHealthAt = 0;
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  async function elect(): Promise<void> {
    provider ??= await openProvider();
    convergence ??= createPoolConvergence({ db, pool, members, provider, transition: createPoolTransition({ db, pool, members, provider, log }), log });
    await ensureDesiredSize(db, bounds);
    await provider.adopt?.(await readMembers(db));
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
        log.info({ generation: held.generation }, 'this manager leads the pool');
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
    if (!leading || !held || !convergence) return;
    const checkHealth = Date.now() - lastHealthAt >= healthIntervalMs;
    if (checkHealth) lastHealthAt = Date.now();
    const conv = convergence;
    try {
      const note = await members.exclusive(() => conv.pass(held, { checkHealth }));
      if (note) log.warn({ note }, 'the pool is short of its desired state');
    } catch (err) {
      log.warn({ err }, 'could not apply the desired pool state; trying again');
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
    /** The provider, once this process has led. */
    provider: () => provider,
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
    /** Stops the loops, hands the lease back and closes the provider (which stops or lets go of its nodes). */
    async close(): Promise<void> {
      for (const timer of timers) clearInterval(timer);
      await (queued ?? running);
      leading = false;
      await lease.release().catch((err) => log.warn({ err }, 'could not hand the pool lease back'));
      await provider?.close();
    },
  };
}

export type PoolLeader = ReturnType<typeof createPoolLeader>;
