import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadScalerPolicy, saveScalerPolicy } from '../src/scaling/scaler-policy-store.js';
import { readMembers } from '../src/scaling/pool-membership.js';
import { recordMembers } from './helpers/pool.js';
import { buildTestApp, databases, objectFiles, type TestDatabase } from './helpers/app.js';
import { consoleEnv, loggedIn, type ConsoleClient } from './helpers/console.js';
import { images, pngVariant } from './helpers/fixtures.js';
import { freePort } from './helpers/process.js';

const consoleApp = (t: test.TestContext, env: Record<string, string> = {}, database: TestDatabase = 'sqlite') =>
  buildTestApp(t, { listener: 'manager', database, env: { ...consoleEnv, ...env } });

/** Posts a form the way a browser does and returns the page it is redirected to. */
async function submit(client: ConsoleClient, url: string, fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const res = await client.post(url, fields);
  assert.equal(res.statusCode, 302, `${url}: ${res.body}`);
  return client.get(res.headers.location as string);
}

const flash = (page: LightMyRequestResponse) => /<p class="notice (success|error) flash"[^>]*>([^<]*)<\/p>/.exec(page.body)?.slice(1, 3);
const nodeIds = (page: LightMyRequestResponse) => [...page.body.matchAll(/data-node="([^"]+)"/g)].map((m) => m[1]);
const memberIds = async (app: FastifyInstance) => (await readMembers(app.services.db, 'cache')).map((m) => m.id);

test('every console page renders for a logged-in admin', async (t) => {
  const { app } = await consoleApp(t);
  const client = await loggedIn(app);
  for (const [url, heading] of [['/cache', 'Cache configuration'], ['/pool', 'Pool'], ['/danger', 'Danger zone']]) {
    const page = await client.get(url!);
    assert.equal(page.statusCode, 200, url);
    assert.match(page.body, new RegExp(`<h1>${heading}</h1>`), url);
    assert.match(page.body, /name="_csrf" value="[^"]+"/, url);
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)/, `${url} has no inline script`);
  }
});

test('cache: good values reach every node; a bad size or policy is rejected with the reason and the typed values', async (t) => {
  const { app } = await consoleApp(t);
  const client = await loggedIn(app);
  await app.services.requests.resize(2, { actor: 'operator', reason: 'test' });
  const before = await client.get('/cache');
  assert.match(before.body, /64 MB, LRU/);

  const applied = await submit(client, '/cache', { cacheSize: '16', policy: 'RR' });
  assert.deepEqual(flash(applied), ['success', 'Applied 16 MB, RR to every node (2 nodes); the entries that fit were kept.']);
  const status = await app.services.pool.status();
  assert.deepEqual(status.map((s) => [s.stats!.capacityBytes, s.stats!.policy]), [[16 << 20, 'RR'], [16 << 20, 'RR']]);
  assert.match(applied.body, /value="16"/);

  const badSize = await client.post('/cache', { cacheSize: '5000', policy: 'LRU' });
  assert.equal(badSize.statusCode, 400);
  assert.match(badSize.body, /cacheSize must be a whole number of MB from 1 to 4096, got &quot;5000&quot;/);
  assert.match(badSize.body, /id="cacheSize"[^>]*value="5000"/, 'the typed value is kept');
  const badPolicy = await client.post('/cache', { cacheSize: '32', policy: 'FIFO' });
  assert.equal(badPolicy.statusCode, 400);
  assert.match(badPolicy.body, /policy must be LRU or RR, got &quot;FIFO&quot;/);
  assert.deepEqual((await app.services.pool.status()).map((s) => s.stats!.capacityBytes), [16 << 20, 16 << 20], 'nothing changed');
});

test('pool: +1 shows the new node, −1 at the minimum and +1 at the maximum say so, history lists the operator', async (t) => {
  const { app } = await consoleApp(t, { EMC_MAX_NODES: '2' });
  const client = await loggedIn(app);
  assert.deepEqual(nodeIds(await client.get('/pool')), ['node-1']);

  const atMin = await submit(client, '/pool/shrink');
  assert.deepEqual(flash(atMin), ['error', 'The pool cannot shrink below its minimum of 1 node.']);
  const grown = await submit(client, '/pool/grow');
  assert.deepEqual(flash(grown), ['success', 'The pool went from 1 node to 2 nodes.']);
  assert.deepEqual(nodeIds(grown), ['node-1', 'node-2']);
  const atMax = await submit(client, '/pool/grow');
  assert.deepEqual(flash(atMax), ['error', 'The pool cannot grow above its maximum of 2 nodes.']);
  const shrunk = await submit(client, '/pool/shrink');
  assert.deepEqual(flash(shrunk), ['success', 'The pool went from 2 nodes to 1 node.']);
  assert.deepEqual(nodeIds(shrunk), ['node-1']);

  const history = shrunk.body.slice(shrunk.body.indexOf('Scaling history'));
  assert.match(history, /<td>operator<\/td><td class="nowrap">2 → 1<\/td><td class="num">—<\/td><td>console −1<\/td>/);
  assert.match(history, /<td>operator<\/td><td class="nowrap">1 → 2<\/td><td class="num">—<\/td><td>console \+1<\/td>/);
  assert.ok(history.indexOf('2 → 1') < history.indexOf('1 → 2'), 'newest first');
});

test('pool: the policy form rejects min ≥ max with the reason, switches to auto, and ±1 waits for manual mode', async (t) => {
  const { app } = await consoleApp(t);
  const client = await loggedIn(app);
  const rejected = await client.post('/pool/policy', { mode: 'auto', maxMiss: '30%', minMiss: '40%', expRatio: '2', shrinkRatio: '0.5' });
  assert.equal(rejected.statusCode, 400);
  assert.match(rejected.body, /Min miss rate \(minMiss\) must be below max miss rate \(maxMiss\), but 40.0% is not below 30.0%/);
  assert.match(rejected.body, /id="minMiss"[^>]*value="40%"/, 'the typed values are kept');
  const bad = await client.post('/pool/policy', { mode: 'auto', maxMiss: '80%', minMiss: '20%', expRatio: '0.5', shrinkRatio: '3' });
  assert.match(bad.body, /Expand ratio \(expRatio\) must be a number above 1/);
  assert.match(bad.body, /Shrink ratio \(shrinkRatio\) must be a number between 0 and 1/);
  assert.equal((await loadScalerPolicy(app.services.db)).mode, 'manual', 'nothing saved');

  const auto = await submit(client, '/pool/policy', { mode: 'auto', maxMiss: '0.6', minMiss: '10', expRatio: '1.5', shrinkRatio: '0.5' });
  assert.equal(flash(auto)![0], 'success');
  assert.match(auto.body, /data-mode="auto"/);
  assert.deepEqual(await loadScalerPolicy(app.services.db), { mode: 'auto', maxMissRate: 0.6, minMissRate: 0.1, expandRatio: 1.5, shrinkRatio: 0.5 });
  assert.match(auto.body, /id="maxMiss"[^>]*value="60%"/);

  const refused = await submit(client, '/pool/grow');
  assert.match(flash(refused)![1], /automatic mode/);
  assert.equal(await app.services.requests.actual(), 1);
});

for (const database of databases) {
  test(`pool: stopping a chosen node removes exactly that node; the minimum and unknown ids are refused (${database})`, async (t) => {
    const { app } = await consoleApp(t, {}, database);
    const client = await loggedIn(app);
    await app.services.requests.resize(3, { actor: 'operator', reason: 'test' });
    for (let i = 0; i < 20; i++) await app.services.images.upload(`k${i}`, pngVariant(i));
    for (let i = 0; i < 20; i++) await app.services.images.get(`k${i}`);

    const stopped = await submit(client, '/pool/nodes/node-2/stop');
    assert.deepEqual(flash(stopped), ['success', 'Stopped node-2: the pool went from 3 nodes to 2 nodes.']);
    assert.deepEqual(nodeIds(stopped), ['node-1', 'node-3']);
    assert.deepEqual(await memberIds(app), ['node-1', 'node-3']);
    assert.deepEqual(app.services.pool.nodes().map((n) => n.id), ['node-1', 'node-3']);
    assert.deepEqual((await app.services.leader!.provider()!.list()).map((n) => n.id).sort(), ['node-1', 'node-3']);
    const items = (await app.services.pool.status()).reduce((n, s) => n + s.stats!.items, 0);
    assert.equal(items, 20, "the stopped node's entries moved to the others");
    const event = await app.services.db.scalingEvent.findFirst({ orderBy: { id: 'desc' } });
    assert.deepEqual([event!.actor, event!.fromNodes, event!.toNodes, event!.reason], ['operator', 3, 2, 'console: stop node-2']);

    const unknown = await submit(client, '/pool/nodes/node-9/stop');
    assert.deepEqual(flash(unknown), ['error', 'The pool has no active node node-9.']);
    await submit(client, '/pool/nodes/node-1/stop');
    const last = await submit(client, '/pool/nodes/node-3/stop');
    assert.deepEqual(flash(last), ['error', 'The pool cannot shrink below its minimum of 1 node.']);
    assert.deepEqual(await memberIds(app), ['node-3']);
  });
}

test('every form without its CSRF token is rejected and changes nothing', async (t) => {
  const { app } = await consoleApp(t);
  const client = await loggedIn(app);
  await app.services.requests.resize(2, { actor: 'operator', reason: 'test' });
  await app.services.images.upload('kept', images.png);
  const forms: Array<[string, Record<string, string>]> = [
    ['/cache', { cacheSize: '8', policy: 'RR' }],
    ['/pool/grow', {}],
    ['/pool/shrink', {}],
    ['/pool/policy', { mode: 'auto' }],
    ['/pool/nodes/node-2/stop', {}],
    ['/danger/clear-caches', { confirm: 'yes' }],
    ['/danger/delete-all', { confirm: 'yes' }],
    ['/danger/stop-pool', { confirm: 'yes' }],
  ];
  for (const [url, fields] of forms) {
    const res = await client.post(url, fields, { withCsrf: false });
    assert.equal(res.statusCode, 403, url);
  }
  assert.deepEqual(await memberIds(app), ['node-1', 'node-2']);
  assert.equal((await loadScalerPolicy(app.services.db)).mode, 'manual');
  assert.deepEqual((await app.services.pool.status()).map((s) => s.stats!.capacityBytes), [64 << 20, 64 << 20]);
  assert.deepEqual(await app.services.images.keysPage({ limit: 1000 }), ['kept']);
  assert.ok((await app.services.db.scalingEvent.count()) === 2, 'no scaling decision was recorded');
});

test('danger zone: nothing happens without the tick box', async (t) => {
  const { app } = await consoleApp(t);
  const client = await loggedIn(app);
  await app.services.requests.resize(2, { actor: 'operator', reason: 'test' });
  await app.services.images.upload('kept', images.png);
  await app.services.images.get('kept');
  for (const [url, what] of [['/danger/clear-caches', 'clearing every cache'], ['/danger/delete-all', 'deleting all application data'], ['/danger/stop-pool', 'stopping the pool']]) {
    const page = await submit(client, url!, {});
    assert.deepEqual(flash(page), ['error', `Tick the box to confirm ${what}; nothing was done.`]);
  }
  assert.deepEqual(await app.services.images.keysPage({ limit: 1000 }), ['kept']);
  assert.equal((await app.services.pool.status()).reduce((n, s) => n + s.stats!.items, 0), 1);
  assert.equal(await app.services.requests.actual(), 2);
});

test('danger zone: delete-all says when there was nothing, and the counts otherwise', async (t) => {
  const { app, config } = await consoleApp(t);
  const client = await loggedIn(app);
  const empty = await submit(client, '/danger/delete-all', { confirm: 'yes' });
  assert.deepEqual(flash(empty), ['success', 'There was nothing to delete: no images and no stored objects (every cache was cleared anyway).']);

  for (const key of ['a', 'b', 'c']) await app.services.images.upload(key, images.png);
  await app.services.images.get('a');
  const deleted = await submit(client, '/danger/delete-all', { confirm: 'yes' });
  assert.deepEqual(flash(deleted), ['success', 'Deleted 3 images and 3 stored objects, and cleared every cache.']);
  assert.deepEqual(await app.services.images.keysPage({ limit: 1000 }), []);
  assert.deepEqual(await objectFiles(config), []);
  assert.equal((await app.services.pool.status()).reduce((n, s) => n + s.stats!.items, 0), 0);
});

test('danger zone: clear-caches empties every node; stop-pool leaves manual mode at the minimum', async (t) => {
  const { app } = await consoleApp(t, { EMC_MIN_NODES: '2' });
  const client = await loggedIn(app);
  await app.services.requests.resize(4, { actor: 'operator', reason: 'test' });
  for (let i = 0; i < 12; i++) await app.services.images.upload(`k${i}`, pngVariant(i));
  for (let i = 0; i < 12; i++) await app.services.images.get(`k${i}`);
  const filled = await app.services.pool.status();
  assert.ok(filled.filter((s) => s.stats!.items > 0).length >= 2, 'entries spread over several nodes');

  const cleared = await submit(client, '/danger/clear-caches', { confirm: 'yes' });
  assert.deepEqual(flash(cleared), ['success', 'Cleared every cache (4 nodes); the images themselves are untouched.']);
  assert.deepEqual((await app.services.pool.status()).map((s) => s.stats!.items), [0, 0, 0, 0]);
  assert.equal((await app.services.images.keysPage({ limit: 1000 })).length, 12);

  const policy = await loadScalerPolicy(app.services.db);
  await saveScalerPolicy(app.services.db, { ...policy, mode: 'auto' });
  const stopped = await submit(client, '/danger/stop-pool', { confirm: 'yes' });
  assert.deepEqual(flash(stopped), [
    'success',
    'Automatic scaling is off (manual mode); the pool went from 4 nodes to 2 nodes, its minimum — it never goes below that.',
  ]);
  assert.equal((await loadScalerPolicy(app.services.db)).mode, 'manual');
  assert.equal(await app.services.requests.actual(), 2);
  const again = await submit(client, '/danger/stop-pool', { confirm: 'yes' });
  assert.match(flash(again)![1], /already in manual mode; the pool already has 2 nodes/);
});

test('a node that refuses connections is an error row, and the pool page still renders', async (t) => {
  const { app } = await consoleApp(t, { EMC_PROVIDER: 'process' });
  const client = await loggedIn(app);
  const port = await freePort();
  await recordMembers(app.services.db, [{ id: 'node-dead', instanceId: '999999', address: `http://127.0.0.1:${port}` }]);
  await app.services.members.sync();

  const page = await client.get('/pool');
  assert.equal(page.statusCode, 200);
  assert.deepEqual(nodeIds(page), ['node-1', 'node-dead']);
  const row = /<tr class="([^"]*)" data-node="node-dead">([\s\S]*?)<\/tr>/.exec(page.body);
  assert.ok(row, 'the dead node has a row');
  assert.match(row[1]!, /row-error/);
  assert.match(row[2]!, /class="node-error">[^<]+</);
  assert.match(row[2]!, new RegExp(`127.0.0.1:${port}`));
  const alive = /<tr class="([^"]*)" data-node="node-1">([\s\S]*?)<\/tr>/.exec(page.body);
  assert.doesNotMatch(alive![1]!, /row-error/);
  assert.equal((await client.get('/cache')).statusCode, 200, 'the cache page too');
});

test('pool: a +1 the leader does not apply in time says so, and the page shows the pending change', async (t) => {
  const { app } = await consoleApp(t, { EMC_RESIZE_WAIT_S: '0.5' });
  const client = await loggedIn(app);
  await app.ready();
  // Another manager took the lease and stalls (a long pause): this one cannot apply anything.
  await app.services.db.poolState.update({
    where: { id: 1 },
    data: { leaderId: 'stalled-host:4242:leader', leaderGeneration: { increment: 1 }, leaseExpiresAt: new Date(Date.now() + 60_000) },
  });
  const page = await submit(client, '/pool/grow');
  assert.deepEqual(flash(page), [
    'error',
    'The change is recorded (2 nodes wanted, 1 running) but the leader manager has not applied it within 0.5 s; the pool page shows it as pending.',
  ]);
  assert.match(page.body, /Pending change: 2 nodes wanted, 1 running\. The leader manager \(stalled-host:4242:leader\) is applying it\./);
  assert.equal(await app.services.requests.size(), 2, 'the +1 is recorded');
  assert.equal(await app.services.requests.actual(), 1);
});
