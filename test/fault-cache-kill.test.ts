// Fault: a cache process SIGKILLed while look-ups stream in. No look-up fails (the web
// tier serves the dead node's keys from the image store), the node shows suspect, and
// the pool heals: a new process replaces the dead one, in the owner and in a follower.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createCachePool } from '../src/pool/cache-pool.js';
import { createRouter } from '../src/pool/router.js';
import { readMembers } from '../src/scaling/pool-membership.js';
import { buildTestApp } from './helpers/app.js';
import { eventually, steadyLookups } from './helpers/fault-load.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';
import { flaky, inProcessNodes, silentLog, valueOf } from './helpers/pool.js';
import { alive, killAll, pidOf } from './helpers/process.js';

const processPool = { EMC_PROVIDER: 'process', EMC_MIN_NODES: '3', EMC_CACHE_TIMEOUT_MS: '500', EMC_POOL_SYNC_MS: '100' };
const images = new Map(Array.from({ length: 30 }, (_, i) => [`img-${i}`, pngVariant(i)] as const));

async function uploadAll(app: FastifyInstance): Promise<void> {
  for (const [key, bytes] of images) {
    assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, bytes) })).statusCode, 200);
  }
}

/** Every node answers, none is suspect. */
async function healthy(app: FastifyInstance): Promise<boolean> {
  const rows = await app.services.pool.status();
  return rows.length === 3 && rows.every((row) => !row.suspect && row.stats !== undefined);
}

/** Database members, the pool's ring and the provider's running nodes are the same set. */
async function assertConsistent(owner: FastifyInstance): Promise<string[]> {
  const members = (await readMembers(owner.services.db, 'cache')).map((m) => m.id).sort();
  assert.deepEqual(owner.services.pool.nodes().map((n) => n.id).sort(), members, 'the ring follows the database');
  assert.deepEqual((await owner.services.leader!.provider()!.list()).map((n) => n.id).sort(), members, 'the provider runs exactly the members');
  return members;
}

/** Load through both apps, SIGKILL one child in the middle; returns the victim. */
async function killUnderLoad(apps: FastifyInstance[], owner: FastifyInstance) {
  const members = await readMembers(owner.services.db, 'cache');
  assert.equal(members.length, 3);
  const victim = members[1]!;
  const pid = pidOf(victim.instanceId);
  const loads = apps.map((app) => steadyLookups(app, images, { workers: 12 }));
  await eventually(() => loads.every((l) => l.lookups() > 100), 20_000, 'load is running');
  process.kill(pid, 'SIGKILL');
  const atKill = loads.map((l) => l.lookups());
  await eventually(() => loads.every((l, i) => l.lookups() > atKill[i]! + 300), 30_000, 'load kept running after the kill');
  const reports = await Promise.all(loads.map((l) => l.stop()));
  for (const [i, report] of reports.entries()) {
    assert.deepEqual(report.failures, [], `app ${i}: no look-up failed (${report.lookups} made)`);
  }
  assert.equal(alive(pid), false, 'the victim is gone');
  return { victim, pid, survivors: members.filter((m) => m !== victim) };
}

test('SIGKILL of a cache process under load: no failed look-up, suspect, reconcile replaces it (owner and follower)', { timeout: 60_000 }, async (t) => {
  const { app: owner, dataDir } = await buildTestApp(t, { env: processPool });
  // The follower syncs only when told, so it sees the healed membership in one step, as a
  // web host that polls less often than a replacement takes would.
  const { app: follower } = await buildTestApp(t, { env: { ...processPool, EMC_DATA_DIR: dataDir, EMC_ROLE: 'web', EMC_POOL_SYNC_MS: '60000' } });
  const startPids = (await readMembers(owner.services.db, 'cache')).map((m) => pidOf(m.instanceId));
  t.after(() => killAll(startPids));
  await uploadAll(owner);
  for (const app of [owner, follower]) for (const key of images.keys()) await app.inject(`/image/${key}`);
  assert.ok((await owner.services.pool.status()).every((row) => row.stats!.items > 0), 'every node holds a share');
  assert.deepEqual(follower.services.pool.nodes().map((n) => n.id), owner.services.pool.nodes().map((n) => n.id));

  const { victim, pid, survivors } = await killUnderLoad([owner, follower], owner);
  for (const app of [owner, follower]) {
    const row = (await app.services.pool.status()).find((r) => r.id === victim.id)!;
    assert.equal(row.suspect, true, 'the dead node is suspect');
    assert.ok(row.error, 'and shows its error');
  }

  await owner.services.leader!.reconcile();
  const members = await readMembers(owner.services.db, 'cache');
  assert.equal(members.length, 3, 'back to the minimum');
  const replacement = members.find((m) => !survivors.some((s) => s.id === m.id))!;
  assert.notEqual(pidOf(replacement.instanceId), pid, 'a new process');
  assert.ok(alive(pidOf(replacement.instanceId)));
  t.after(() => killAll([pidOf(replacement.instanceId)]));
  for (const s of survivors) assert.equal(members.find((m) => m.id === s.id)?.instanceId, s.instanceId, `${s.id} stayed`);
  await assertConsistent(owner);
  assert.equal(await healthy(owner), true, 'the owner routes to three healthy nodes right away');
  // The follower picks up the new membership and routes to the new process, not the dead one's address.
  await follower.services.members.sync();
  await eventually(() => healthy(follower), 5000, 'the follower routes to three healthy nodes');

  // The healed pool serves: no failures, and the new node takes its share of the hits.
  const loads = [owner, follower].map((app) => steadyLookups(app, images, { workers: 8 }));
  await eventually(() => loads.every((l) => l.lookups() > 2 * images.size), 20_000, 'look-ups after healing');
  for (const report of await Promise.all(loads.map((l) => l.stop()))) assert.deepEqual(report.failures, []);
  for (const app of [owner, follower]) {
    const row = (await app.services.pool.status()).find((r) => r.id === replacement.id)!;
    assert.ok(row.stats!.hits > 0, `the replacement serves hits (${JSON.stringify(row.stats)})`);
  }
});

test('the periodic reconcile heals the pool by itself while look-ups continue', { timeout: 60_000 }, async (t) => {
  const { app } = await buildTestApp(t, { env: { ...processPool, EMC_RECONCILE_S: '1' } });
  await app.ready(); // starts the background loops
  const startPids = (await readMembers(app.services.db, 'cache')).map((m) => pidOf(m.instanceId));
  t.after(() => killAll(startPids));
  await uploadAll(app);

  const { pid } = await killUnderLoad([app], app);
  const load = steadyLookups(app, images, { workers: 8 });
  const healed = async () => {
    const members = await readMembers(app.services.db, 'cache');
    const routed = app.services.pool.nodes().map((n) => n.id).sort().join();
    return (
      members.length === 3 &&
      members.every((m) => pidOf(m.instanceId) !== pid) &&
      routed === members.map((m) => m.id).sort().join() &&
      (await healthy(app))
    );
  };
  await eventually(healed, 20_000, 'a new process replaced the dead one');
  const report = await load.stop();
  assert.deepEqual(report.failures, [], `no look-up failed while the pool healed (${report.lookups} made)`);
  const members = await assertConsistent(app);
  assert.equal(members.length, 3);
});

test('a node that replaces a dead one under the same id is not suspect', async () => {
  const [one, two] = inProcessNodes(2);
  const down = { on: true };
  // The probe would let a replacement in only after its first tick; make that never, to see the pool's own decision.
  const pool = createCachePool({ nodes: [one!, flaky(two!, down)], routing: 'ring', log: silentLog, probeIntervalMs: 600_000 });
  try {
    const router = createRouter('ring', ['node-1', 'node-2']);
    const key = Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => router.lookup(k) === 'node-2')!;
    assert.equal(await pool.get(key), undefined, 'the dead node fails into a miss');
    assert.equal((await pool.status())[1]!.suspect, true);

    const [replacement] = inProcessNodes(1, 1, 'LRU', 2); // node-2 again, a new process
    await pool.follow([one!, replacement!]);
    assert.equal((await pool.status())[1]!.suspect, false, 'the replacement starts trusted');
    await pool.put(key, valueOf(key, 10));
    assert.ok(await pool.get(key), 'and serves at once');
  } finally {
    await pool.close();
  }
});
