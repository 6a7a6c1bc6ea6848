import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { createHttpCacheNode } from '../src/pool/http-cache-node.js';
import { encodeEntries } from '../src/pool/entry-frames.js';
import { cacheRole } from '../src/roles/cache/cache-role.js';
import { buildTestApp } from './helpers/app.js';
import { httpNodeFor, listenOnLoopback, newStore } from './helpers/cache-server.js';
import { freePort } from './helpers/process.js';

const png = { bytes: Buffer.from('PNG!'), contentType: 'image/png', etag: '"e1"' };

describe('HTTP cache node: the wire', () => {
  it('serves raw bytes with the stored type and etag, and marks a miss', async (t) => {
    const store = newStore();
    const baseUrl = await listenOnLoopback(t, async (app) => {
      await app.register(cacheRole(store));
    });
    store.put('dir/a b.png', png);
    const hit = await request(`${baseUrl}/cache/dir%2Fa%20b.png`);
    assert.equal(hit.statusCode, 200);
    assert.equal(hit.headers['content-type'], 'image/png');
    assert.equal(hit.headers.etag, '"e1"');
    assert.deepEqual(Buffer.from(await hit.body.arrayBuffer()), png.bytes);

    const miss = await request(`${baseUrl}/cache/nope`);
    assert.equal(miss.statusCode, 404);
    assert.equal(miss.headers['x-emc-cache'], 'miss');
    assert.equal(await miss.body.text(), '');
  });

  it('rejects a put without its metadata headers and a garbled import, with the reason', async (t) => {
    const store = newStore();
    const baseUrl = await listenOnLoopback(t, async (app) => {
      await app.register(cacheRole(store));
    });
    const put = await request(`${baseUrl}/cache/k`, { method: 'PUT', body: 'x', headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.statusCode, 400);
    assert.match(((await put.body.json()) as { error: { message: string } }).error.message, /x-emc-content-type/);

    const frame = encodeEntries([{ key: 'k', value: png }]);
    const garbled = await request(`${baseUrl}/import`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: frame.subarray(0, frame.length - 1) });
    assert.equal(garbled.statusCode, 400);
    assert.match(((await garbled.body.json()) as { error: { message: string } }).error.message, /entry frame: truncated/);
    assert.equal(store.stats().items, 0);
  });

  it('keeps up with many concurrent gets over its keep-alive pool', async (t) => {
    const store = newStore();
    // 500 gets queue behind 8 connections, and a get's deadline counts its wait in the queue: on a busy
    // machine the last of them wait longer than the default second. This is about the pool, not the deadline.
    const node = await httpNodeFor(t, store, { connections: 8, timeoutMs: 30_000 });
    for (let i = 0; i < 50; i++) store.put(`k${i}`, { ...png, bytes: Buffer.from(`v${i}`) });
    const got = await Promise.all(Array.from({ length: 500 }, (_, i) => node.get(`k${i % 60}`)));
    got.forEach((v, i) => assert.equal(v?.bytes.toString(), i % 60 < 50 ? `v${i % 60}` : undefined));
    assert.equal(store.stats().lookups, 500);
  });

  it('is the API the real app serves on its cache listener', async (t) => {
    const { app } = await buildTestApp(t, { listener: 'cache' });
    const put = await app.inject({
      method: 'PUT',
      url: '/cache/x%2Fy',
      headers: { 'content-type': 'application/octet-stream', 'x-emc-content-type': 'image/png', 'x-emc-etag': '"e1"' },
      payload: png.bytes,
    });
    assert.deepEqual(put.json(), { stored: true });
    const hit = await app.inject('/cache/x%2Fy');
    assert.deepEqual([hit.statusCode, hit.headers.etag, hit.rawPayload], [200, '"e1"', png.bytes]);
    assert.equal((await app.inject('/cache/other')).headers['x-emc-cache'], 'miss');
  });
});

describe('HTTP cache node: failures', () => {
  it('rejects, naming node and operation, when nothing listens; health is false', async () => {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    const node = createHttpCacheNode({ id: 'cache-9', baseUrl, timeoutMs: 300 });
    try {
      const started = Date.now();
      await assert.rejects(node.get('k'), /^CacheNodeError: cache node cache-9 \(http:\/\/127\.0\.0\.1:\d+\): get failed: ECONNREFUSED/);
      assert.ok(Date.now() - started < 300, 'refused at once, not after the timeout');
      await assert.rejects(node.put('k', png), /cache-9 .*put failed/);
      assert.equal(await node.health(), false);
    } finally {
      await node.close();
    }
  });

  it('times out a node that answers too slowly, to the millisecond, and recovers after', async (t) => {
    const release = new AbortController();
    // Registered before the server's own close, so its stalled handlers end first.
    t.after(() => release.abort());
    const baseUrl = await listenOnLoopback(t, async (app) => {
      const stall = () => sleep(10_000, undefined, { signal: release.signal }).catch(() => {});
      app.get<{ Params: { '*': string } }>('/cache/*', async (request, reply) => {
        if (request.params['*'] === 'slow') await stall();
        return reply.code(404).header('x-emc-cache', 'miss').send();
      });
      app.get('/health', async () => {
        await stall();
        return {};
      });
    });
    // One connection: the next call must not queue behind the abandoned one.
    const node = createHttpCacheNode({ id: 'slow', baseUrl, timeoutMs: 150, connections: 1 });
    t.after(() => node.close());

    const started = Date.now();
    await assert.rejects(node.get('slow'), /^CacheNodeError: cache node slow .*get failed: timed out after 150 ms/);
    const elapsed = Date.now() - started;
    // undici's own timeouts tick every ~0.5 s; the deadline must not.
    assert.ok(elapsed >= 140 && elapsed < 900, `timed out after ${elapsed} ms`);
    assert.equal(await node.get('fast'), undefined);
    assert.equal(await node.health(), false);
  });

  it('treats a 404 that is not a miss (another service, a wrong address) as a failure', async (t) => {
    const baseUrl = await listenOnLoopback(t, async () => {});
    const node = createHttpCacheNode({ id: 'wrong', baseUrl });
    t.after(() => node.close());
    await assert.rejects(node.get('k'), /cache node wrong .*get failed: HTTP 404: no route GET \/cache\/k/);
    await assert.rejects(node.stats(), /stats failed: HTTP 404/);
  });

  it('rejects every call after close, and is then unhealthy', async (t) => {
    const node = await httpNodeFor(t, newStore());
    await node.close();
    await assert.rejects(node.get('k'), /get failed/);
    assert.equal(await node.health(), false);
  });
});
