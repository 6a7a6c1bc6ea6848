import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { encodeEntries } from '../src/pool/entry-frames.js';
import { CacheNodeError, createHttpCacheNode } from '../src/pool/http-cache-node.js';
import { cacheRole } from '../src/roles/cache/cache-role.js';
import { childEnvOf } from '../src/scaling/create-provider.js';
import { createEc2Provider } from '../src/scaling/ec2-provider.js';
import { buildTestApp } from './helpers/app.js';
import { listenOnLoopback, newStore } from './helpers/cache-server.js';
import { fakeEc2 } from './helpers/fake-ec2.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';
import { silentLog } from './helpers/pool.js';

const TOKEN = 'cache-token-0123456789abcdef';
const value = { bytes: Buffer.from('PNG bytes'), contentType: 'image/png', etag: '"v1"' };

/** Every route of the cache role but the health check, as a raw request. */
const guarded = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/cache/k' },
  { method: 'GET', path: '/peek/k' },
  { method: 'PUT', path: '/cache/k', headers: { 'x-emc-content-type': 'image/png', 'x-emc-etag': '"x"' }, body: 'evil' },
  { method: 'DELETE', path: '/cache/k' },
  { method: 'DELETE', path: '/cache' },
  { method: 'PUT', path: '/config', headers: { 'content-type': 'application/json' }, body: '{"capacityMb":1,"policy":"RR"}' },
  { method: 'GET', path: '/stats' },
  { method: 'GET', path: '/keys' },
  { method: 'POST', path: '/export', headers: { 'content-type': 'application/json' }, body: '{"keys":["k"]}' },
  { method: 'POST', path: '/import', headers: { 'content-type': 'application/octet-stream' }, body: encodeEntries([{ key: 'planted', value }]) },
  { method: 'POST', path: '/remove', headers: { 'content-type': 'application/json' }, body: '{"keys":["k"]}' },
] as const;

test('EMC_CACHE_TOKEN: optional, at least 16 characters, and never repeated in an error', () => {
  assert.equal(loadConfig({}).cache.token, undefined);
  assert.equal(loadConfig({ EMC_CACHE_TOKEN: '' }).cache.token, undefined);
  assert.equal(loadConfig({ EMC_CACHE_TOKEN: TOKEN }).cache.token, TOKEN);
  const short = 'tooShort-secret';
  assert.throws(
    () => loadConfig({ EMC_CACHE_TOKEN: short }),
    (err: Error) => err instanceof ConfigError && /EMC_CACHE_TOKEN \(set; the value is not shown\): must be at least 16 characters/.test(err.message) && !err.message.includes(short),
  );
  // The other secrets are not repeated either, and a database URL's password is masked.
  assert.throws(
    () => loadConfig({ EMC_ROLE: 'manager', EMC_PROVIDER: 'process', EMC_ADMIN_PASSWORD: 'hunter2' }),
    (err: Error) => /EMC_ADMIN_PASSWORD \(set; the value is not shown\)/.test(err.message) && !err.message.includes('hunter2'),
  );
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'mysql://admin:pa@ss-word@db.internal:3306/emc' }),
    (err: Error) => err.message.includes('DATABASE_URL="mysql://admin:***@db.internal:3306/emc"') && !err.message.includes('pa@ss'),
  );
  // The process provider hands the token (and the database) to its children.
  const config = loadConfig({ EMC_CACHE_TOKEN: TOKEN, DATABASE_URL: 'postgres://u:pw@127.0.0.1:5432/db', EMC_PROVIDER: 'process', EMC_ROLE: 'web' });
  assert.equal(childEnvOf(config, TOKEN).EMC_CACHE_TOKEN, TOKEN);
});

test('a cache node with a token refuses every call without it or with a wrong one (401 JSON); /health stays open', async (t) => {
  const store = newStore();
  store.put('k', value);
  const baseUrl = await listenOnLoopback(t, async (app) => {
    await app.register(cacheRole(store, { token: TOKEN }));
  });
  const before = store.stats();
  const refusals = [undefined, 'Bearer wrong-token-0123456789ab', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer '];
  for (const authorization of refusals) {
    for (const route of guarded) {
      const headers = { ...('headers' in route ? route.headers : {}), ...(authorization ? { authorization } : {}) };
      const res = await request(`${baseUrl}${route.path}`, { method: route.method, headers, body: 'body' in route ? route.body : undefined });
      const what = `${route.method} ${route.path} with ${authorization ?? 'no authorization'}`;
      assert.equal(res.statusCode, 401, what);
      assert.match(String(res.headers['content-type']), /^application\/json/, what);
      const body = (await res.body.json()) as { success: string; error: { code: number; message: string } };
      assert.equal(body.success, 'false', what);
      assert.equal(body.error.code, 401, what);
      assert.match(body.error.message, /needs its token/, what);
      assert.ok(!JSON.stringify(body).includes(TOKEN), 'the answer does not echo the token');
    }
  }
  const after = store.stats();
  assert.deepEqual({ ...after, requests: 0 }, { ...before, requests: 0 }, 'nothing was read, written or counted');
  assert.equal(store.peek('planted'), undefined);
  assert.deepEqual(store.peek('k'), value);

  for (const method of ['GET', 'HEAD'] as const) {
    const health = await request(`${baseUrl}/health`, { method });
    assert.equal(health.statusCode, 200, `${method} /health is open for probes`);
    await health.body.dump();
  }

  // The right token opens every route (the scheme is case-insensitive).
  for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
    for (const route of guarded) {
      const headers = { ...('headers' in route ? route.headers : {}), authorization };
      const res = await request(`${baseUrl}${route.path}`, { method: route.method, headers, body: 'body' in route ? route.body : undefined });
      assert.ok(res.statusCode === 200 || (res.statusCode === 404 && res.headers['x-emc-cache'] === 'miss'), `${route.method} ${route.path}: ${res.statusCode}`);
      await res.body.dump();
    }
  }
});

test('the HTTP cache node client sends its token: the right one works end to end, a wrong or missing one fails clearly', async (t) => {
  const store = newStore();
  const baseUrl = await listenOnLoopback(t, async (app) => {
    await app.register(cacheRole(store, { token: TOKEN }));
  });
  const node = createHttpCacheNode({ id: 'tok', baseUrl, token: TOKEN });
  const wrong = createHttpCacheNode({ id: 'wrong', baseUrl, token: 'not-the-token-0123456789' });
  const none = createHttpCacheNode({ id: 'none', baseUrl });
  t.after(() => Promise.all([node.close(), wrong.close(), none.close()]));

  assert.equal(await node.put('a/b c', value), true);
  assert.deepEqual(await node.get('a/b c'), value);
  assert.deepEqual(await node.peek('a/b c'), value);
  assert.equal(await node.get('nope'), undefined);
  assert.deepEqual(await node.keys(), ['a/b c']);
  const exported = await node.exportEntries(['a/b c']);
  assert.equal(await node.importEntries([{ key: 'moved', value }]), 1);
  assert.equal(await node.removeEntries(['moved']), 1);
  assert.deepEqual(exported, [{ key: 'a/b c', value }]);
  await node.reconfigure({ capacityMb: 2, policy: 'RR' });
  assert.equal((await node.stats()).hits, 1);
  await node.invalidate('a/b c');
  await node.clear();
  assert.equal(await node.health(), true);

  for (const client of [wrong, none]) {
    for (const call of [() => client.get('k'), () => client.put('k', value), () => client.stats()]) {
      const error = await call().then(
        () => assert.fail('accepted'),
        (err: Error) => err,
      );
      assert.ok(error instanceof CacheNodeError);
      assert.match(error.message, /HTTP 401: this cache node needs its token/);
      assert.ok(!error.message.includes('not-the-token') && !error.message.includes(TOKEN), 'no token in the message');
    }
    assert.equal(await client.health(), true, 'the health check needs no token');
  }
  assert.equal(store.stats().items, 0);
});

test('the ec2 provider gives its clients the token', async (t) => {
  const store = newStore();
  const baseUrl = await listenOnLoopback(t, async (app) => {
    await app.register(cacheRole(store, { token: TOKEN }));
  });
  const providers = [TOKEN, undefined].map((token) =>
    createEc2Provider({ ec2: fakeEc2([]).ec2, poolTag: 'main', address: 'private', nodePort: 5001, token, log: silentLog }),
  );
  t.after(() => Promise.all(providers.map((p) => p.close())));
  const [withToken, without] = providers.map((p) => p.connect({ id: 'n1', instanceId: 'i-1', address: baseUrl }));
  assert.equal(await withToken!.put('k', value), true);
  assert.deepEqual(await withToken!.get('k'), value);
  await assert.rejects(without!.get('k'), /HTTP 401/);
});

test('a pool of real cache processes started with EMC_CACHE_TOKEN serves look-ups, and the nodes refuse anyone without it', { timeout: 120_000 }, async (t) => {
  const { app } = await buildTestApp(t, {
    env: { EMC_PROVIDER: 'process', EMC_MIN_NODES: '2', EMC_CACHE_TOKEN: TOKEN, EMC_LOG_LEVEL: 'silent' },
  });
  await app.ready();
  const members = await app.services.db.poolNode.findMany({ orderBy: { id: 'asc' } });
  assert.equal(members.length, 2);

  const keys = Array.from({ length: 20 }, (_, i) => `img-${i}`);
  for (const [i, key] of keys.entries()) {
    assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, pngVariant(i)) })).statusCode, 200);
  }
  for (let round = 0; round < 2; round++) {
    for (const [i, key] of keys.entries()) {
      const res = await app.inject(`/image/${key}`);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, pngVariant(i));
    }
  }
  const status = await app.services.pool.status();
  assert.ok(status.every((row) => row.error === undefined && row.stats !== undefined), JSON.stringify(status));
  assert.equal(status.reduce((n, row) => n + row.stats!.hits, 0), keys.length, 'the second round was all hits, over the token');
  assert.equal(status.reduce((n, row) => n + row.stats!.items, 0), keys.length);

  // A resize moves entries between token-guarded nodes.
  const resized = await app.inject({ method: 'POST', url: '/api/configure_cache?numNodes=3' });
  assert.equal(resized.statusCode, 200, resized.body);
  const moved = await app.services.pool.status();
  assert.equal(moved.length, 3);
  assert.equal(moved.reduce((n, row) => n + row.stats!.items, 0), keys.length, 'every entry moved, none lost');

  for (const { address } of await app.services.db.poolNode.findMany()) {
    const anonymous = await request(`${address}/cache/img-0`);
    assert.equal(anonymous.statusCode, 401, `${address} refuses a caller without the token`);
    await anonymous.body.dump();
    const stats = await request(`${address}/stats`, { headers: { authorization: 'Bearer guess-guess-guess-guess' } });
    assert.equal(stats.statusCode, 401);
    await stats.body.dump();
    const health = await request(`${address}/health`);
    assert.equal(health.statusCode, 200);
    await health.body.dump();
  }
});
