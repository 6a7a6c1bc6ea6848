// Both pools under one mechanism: one lease, one loop whose pass converges each pool. A leader
// that dies is replaced within the lease's TTL and its successor keeps both pools at their
// desired sizes; a deposed leader that wakes up is fenced in both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { createLeaderLease } from '../src/scaling/leader-lease.js';
import { createPoolLeader, type ManagedPool } from '../src/scaling/pool-leader.js';
import { readMembers } from '../src/scaling/pool-membership.js';
import type { PoolName } from '../src/scaling/pool-name.js';
import { createPoolRequests } from '../src/scaling/pool-requests.js';
import { webPoolSteps } from '../src/scaling/web-pool-steps.js';
import type { Db } from '../src/db/database.js';
import { buildTestApp, databases } from './helpers/app.js';
import { fakeMembers } from './helpers/fake-members.js';

const log = pino({ level: 'silent' });
const TTL_MS = 400;

/** A manager with both pools, each on providers of its own. */
function manager(db: Db, name: string) {
  const providers = { cache: fakeMembers(name), web: fakeMembers(name) };
  const pool = (pool: PoolName, bounds: { min: number; max: number }): ManagedPool => ({
    name: pool,
    bounds,
    open: async () => ({ provider: providers[pool], steps: webPoolSteps(providers[pool], 100) }),
  });
  const leader = createPoolLeader({
    db,
    pools: [pool('cache', { min: 1, max: 5 }), pool('web', { min: 1, max: 8 })],
    lease: createLeaderLease({ db, holder: name, ttlMs: TTL_MS }),
    intervalMs: 100,
    leaseIntervalMs: 100,
    healthIntervalMs: 0,
    log,
  });
  return { leader, providers };
}

const owners = async (db: Db, pool: PoolName) => (await readMembers(db, pool)).map((m) => m.instanceId!.split(':')[0]);

for (const database of databases) {
  describe(`two pools under one lease (${database})`, () => {
    test('one leader converges both pools; its successor keeps both after it dies, and the deposed leader is fenced in both', async (t) => {
      // The app is only the database here: its own leader hands the lease back first.
      const { app } = await buildTestApp(t, { database });
      const { db } = app.services;
      await app.services.leader!.close();
      await db.poolNode.deleteMany({});

      const a = manager(db, 'manager-a');
      assert.equal(await a.leader.lead(), true);
      /** With a leader to kick: waits for it to apply the change; without: only records it. */
      const requests = (pool: PoolName, kick?: () => Promise<void>) =>
        createPoolRequests({ db, pool, bounds: pool === 'cache' ? { min: 1, max: 5 } : { min: 1, max: 8 }, waitMs: kick ? 5000 : 0, written: () => void kick?.() });
      await requests('cache', a.leader.kick).resize(2, { actor: 'operator', reason: 'test' });
      await requests('web', a.leader.kick).resize(3, { actor: 'operator', reason: 'test' });
      assert.deepEqual((await readMembers(db, 'cache')).map((m) => m.id), ['node-1', 'node-2']);
      assert.deepEqual((await readMembers(db, 'web')).map((m) => m.id), ['worker-1', 'worker-2', 'worker-3']);
      assert.equal(a.providers.web.running.size, 3, 'the web pool runs on its own provider');
      const webEvents = await db.scalingEvent.findMany({ where: { pool: 'web' }, orderBy: { id: 'asc' } });
      assert.deepEqual(webEvents.map((e) => [e.fromNodes, e.toNodes]), [[0, 1], [1, 3]], 'each pool records its own decisions');

      // a stops renewing (it hangs, or its host is cut off); its lease lapses and b takes over.
      await new Promise((r) => setTimeout(r, TTL_MS + 100));
      const b = manager(db, 'manager-b');
      t.after(() => b.leader.close());
      assert.equal(await b.leader.lead(), true, 'b takes the lapsed lease');
      assert.deepEqual(await owners(db, 'cache'), ['manager-b', 'manager-b'], "b replaced a's nodes it cannot reach");
      assert.deepEqual(await owners(db, 'web'), ['manager-b', 'manager-b', 'manager-b'], "and a's workers");

      // Both pools are asked to grow; a wakes up first and acts on them under its old lease: nothing it does is recorded.
      await requests('cache').resize(3, { actor: 'operator', reason: 'test' });
      await requests('web').resize(4, { actor: 'operator', reason: 'test' });
      await a.leader.reconcile();
      assert.deepEqual(await owners(db, 'cache'), ['manager-b', 'manager-b'], "a's cache pass was fenced");
      assert.deepEqual(await owners(db, 'web'), ['manager-b', 'manager-b', 'manager-b'], "a's web pass was fenced");
      await b.leader.reconcile();
      assert.deepEqual(await owners(db, 'cache'), ['manager-b', 'manager-b', 'manager-b'], 'b applies both');
      assert.deepEqual(await owners(db, 'web'), ['manager-b', 'manager-b', 'manager-b', 'manager-b']);
      await a.leader.close();
    });
  });
}
