import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readMembers } from '../src/scaling/pool-membership.js';
import { buildTestApp, databases } from './helpers/app.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

const configure = (query: string) => ({ method: 'POST' as const, url: `/api/configure_cache?${query}` });

for (const database of databases) {
  describe(`pool controller (${database})`, () => {
    test('a fresh start has one node; numNodes resizes within bounds with clear messages', async (t) => {
      const { app } = await buildTestApp(t, { database, env: { EMC_MAX_NODES: '4' } });
      assert.deepEqual((await app.inject({ method: 'POST', url: '/api/getNumNodes' })).json(), { success: 'true', numNodes: 1 });

      const grown = await app.inject(configure('numNodes=3'));
      assert.deepEqual(grown.json(), { success: 'true', mode: 'manual', numNodes: 3, cacheSize: 64, policy: 'LRU' });
      assert.equal(app.services.pool.nodes().length, 3);

      const tooMany = await app.inject(configure('numNodes=5'));
      assert.equal(tooMany.statusCode, 400);
      assert.match(tooMany.json().error.message, /cannot grow above its maximum of 4 nodes/);
      const tooFew = await app.inject(configure('numNodes=0'));
      assert.match(tooFew.json().error.message, /cannot shrink below its minimum of 1 node/);
      assert.equal((await app.inject({ method: 'POST', url: '/api/getNumNodes' })).json().numNodes, 3);

      const events = await app.services.db.scalingEvent.findMany({ orderBy: { id: 'asc' } });
      assert.deepEqual(events.map((e) => [e.actor, e.fromNodes, e.toNodes]), [['manager', 0, 1], ['operator', 1, 3]]);
      assert.match(events[1]!.reason, /configure_cache numNodes=3/);
    });

    test('cacheSize and policy reach every node and keep what fits; bad parameters change nothing', async (t) => {
      const { app } = await buildTestApp(t, { database });
      await app.inject(configure('numNodes=2'));
      await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', images.png) });
      await app.inject('/image/k');
      const res = await app.inject(configure('cacheSize=16&policy=RR'));
      assert.deepEqual(res.json(), { success: 'true', mode: 'manual', numNodes: 2, cacheSize: 16, policy: 'RR' });
      const status = await app.services.pool.status();
      assert.deepEqual(status.map((s) => [s.stats!.capacityBytes, s.stats!.policy]), [[16 << 20, 'RR'], [16 << 20, 'RR']]);
      assert.equal(status.reduce((n, s) => n + s.stats!.items, 0), 1, 'reconfiguring did not clear the cache');

      for (const query of ['cacheSize=0', 'cacheSize=5000', 'cacheSize=big', 'policy=FIFO', 'mode=sometimes', 'maxMiss=0.1&minMiss=0.5', 'expRatio=0.5', 'shrinkRatio=2', 'numNodes=two', 'cacheSize=32&policy=MRU']) {
        const bad = await app.inject(configure(query));
        assert.equal(bad.statusCode, 400, query);
        assert.equal(bad.json().success, 'false');
      }
      const after = await app.inject(configure(''));
      assert.deepEqual(after.json(), { success: 'true', mode: 'manual', numNodes: 2, cacheSize: 16, policy: 'RR' });
    });

    test('20 concurrent resizes never leave the bounds and leave database, pool and provider in agreement', async (t) => {
      const { app } = await buildTestApp(t, { database, env: { EMC_MAX_NODES: '5' } });
      const { requests } = app.services;
      const requestsMade = Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? app.inject(configure(`numNodes=${(i * 7) % 8}`)).then((r) => r.statusCode)
          : requests
              .step(i % 4 === 1 ? 1 : -1, { actor: 'operator', reason: 'manual ±1' })
              .then(() => 200, (err: { statusCode?: number }) => err.statusCode ?? 500),
      );
      const statuses = await Promise.all(requestsMade);
      assert.ok(statuses.every((s) => s === 200 || s === 400), String(statuses));
      await app.services.leader!.kick();
      const members = await readMembers(app.services.db, 'cache');
      const running = await app.services.leader!.provider()!.list();
      assert.ok(members.length >= 1 && members.length <= 5, `${members.length} members`);
      assert.equal(members.length, await requests.size(), 'the pool reached the desired size');
      assert.deepEqual(app.services.pool.nodes().map((n) => n.id).sort(), members.map((m) => m.id).sort());
      assert.deepEqual(running.map((n) => n.id).sort(), members.map((m) => m.id).sort());
      const events = await app.services.db.scalingEvent.findMany();
      assert.ok(events.every((e) => e.toNodes >= 1 && e.toNodes <= 5));
    });

    test('concurrent +1 steps all count, and a step past the bound is refused without a write', async (t) => {
      const { app } = await buildTestApp(t, { database, env: { EMC_MAX_NODES: '4' } });
      const { requests } = app.services;
      const steps = await Promise.allSettled([1, 2, 3, 4].map(() => requests.step(1, { actor: 'operator', reason: 'console +1' })));
      assert.deepEqual(steps.map((r) => r.status).sort(), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      assert.match(String((steps.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason), /cannot grow above its maximum of 4 nodes/);
      assert.equal(await requests.size(), 4);
      assert.equal(await requests.actual(), 4);
      const events = await app.services.db.scalingEvent.findMany({ where: { actor: 'operator' }, orderBy: { id: 'asc' } });
      assert.deepEqual(events.map((e) => [e.fromNodes, e.toNodes]), [[1, 2], [2, 3], [3, 4]]);
    });

    test('a lease taken by a leader that then died blocks the pool only until it expires', async (t) => {
      const { app } = await buildTestApp(t, { database, env: { EMC_POOL_LOCK_TTL_S: '1', EMC_POOL_SYNC_MS: '100' } });
      await app.ready();
      // Another manager took over (a newer generation) and died at once.
      await app.services.db.poolState.update({
        where: { id: 1 },
        data: { leaderId: 'crashed-host:4242:dead', leaderGeneration: { increment: 1 }, leaseExpiresAt: new Date(Date.now() + 1500) },
      });
      const started = Date.now();
      const res = await app.inject(configure('numNodes=2'));
      const waited = Date.now() - started;
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(waited >= 1000 && waited < 6000, `waited ${waited} ms`);
      const state = await app.services.db.poolState.findUniqueOrThrow({ where: { id: 1 } });
      assert.notEqual(state.leaderId, 'crashed-host:4242:dead', 'this process leads again');
      assert.equal(app.services.leader!.isLeading(), true);
    });
  });
}

test('manual mode: a node that dies is replaced to keep the desired size, and the event says so', { timeout: 90_000 }, async (t) => {
  const { app } = await buildTestApp(t, { env: { EMC_PROVIDER: 'process', EMC_MIN_NODES: '1', EMC_CACHE_TIMEOUT_MS: '500' } });
  await app.inject(configure('numNodes=2'));
  const before = await readMembers(app.services.db, 'cache');
  assert.equal(before.length, 2);
  const victim = before[1]!;
  process.kill(Number(victim.instanceId!.replace('pid:', '')), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));

  await app.services.leader!.reconcile();
  const after = await readMembers(app.services.db, 'cache');
  assert.equal(after.length, 2, 'back at the desired size');
  assert.equal(after[0]!.instanceId, before[0]!.instanceId, 'the healthy node stayed');
  assert.notEqual(after[1]!.instanceId, victim.instanceId, 'the dead node was replaced by a new process');
  assert.deepEqual(app.services.pool.nodes().map((n) => n.id).sort(), after.map((m) => m.id).sort());
  const events = await app.services.db.scalingEvent.findMany({ orderBy: { id: 'asc' } });
  assert.equal(events.at(-1)!.actor, 'manager');
  assert.match(events.at(-1)!.reason, new RegExp(`${victim.id} stopped answering; replacing it to keep 2 nodes`));
});
