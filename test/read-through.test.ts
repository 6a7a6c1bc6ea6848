import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFsBlobStore } from '../src/storage/fs-blob-store.js';
import { buildTestApp } from './helpers/app.js';
import { images, pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

test('look-ups go through the cache: miss, fill, hit; concurrent misses load once', async (t) => {
  let blobReads = 0;
  const { app } = await buildTestApp(t, {
    overrides: (config) => {
      const store = createFsBlobStore(config.blobStore.dir);
      return { blobs: { ...store, get: (name) => (blobReads++, store.get(name)) } };
    },
  });
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', images.png) });

  const first = await Promise.all(Array.from({ length: 20 }, () => app.inject('/image/k')));
  for (const res of first) assert.deepEqual(res.rawPayload, images.png);
  assert.equal(blobReads, 1, '20 concurrent misses read the image store once');

  const second = await app.inject('/image/k');
  assert.deepEqual(second.rawPayload, images.png);
  assert.equal(second.headers['content-type'], 'image/png');
  assert.equal(second.headers.etag, first[0]!.headers.etag, 'a hit keeps the ETag');
  assert.equal(blobReads, 1, 'the second look-up was a hit');
  const [node] = await app.services.pool.status();
  assert.equal(node!.stats!.hits, 1, 'only the sequential look-up was a hit');
  assert.ok(node!.stats!.misses >= 1);
});

test('replacing a key and delete_all never leave a stale cached copy', async (t) => {
  const { app } = await buildTestApp(t);
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', pngVariant(1)) });
  await app.inject('/image/k');
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', pngVariant(2)) });
  assert.deepEqual((await app.inject('/image/k')).rawPayload, pngVariant(2));
  const viaApi = await app.inject({ method: 'POST', url: '/api/key/k' });
  assert.equal(viaApi.json().content, pngVariant(2).toString('base64'));

  await app.inject({ method: 'POST', url: '/api/delete_all' });
  assert.equal((await app.inject('/image/k')).statusCode, 404);
  const [node] = await app.services.pool.status();
  assert.equal(node!.stats!.items, 0);
});

test('getNumNodes and getRate report the live pool and the last minute of statistics', async (t) => {
  const { app } = await buildTestApp(t, { env: { EMC_STATS_INTERVAL_S: '0.05' } });
  await app.ready();
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/getNumNodes' })).json(), { success: 'true', numNodes: 1 });
  const idle = await app.inject({ method: 'POST', url: '/api/getRate?rate=miss' });
  assert.deepEqual(idle.json(), { success: 'true', rate: 'miss', value: 0 });

  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', images.png) });
  for (let i = 0; i < 4; i++) await app.inject('/image/k'); // 1 miss, 3 hits
  await app.inject('/image/never-uploaded'); // 1 more miss
  await new Promise((r) => setTimeout(r, 300));
  const miss = await app.inject({ method: 'POST', url: '/api/getRate?rate=miss' });
  assert.deepEqual(miss.json(), { success: 'true', rate: 'miss', value: 0.4 });
  const hit = await app.inject({ method: 'POST', url: '/api/getRate?rate=hit' });
  assert.deepEqual(hit.json(), { success: 'true', rate: 'hit', value: 0.6 });

  const bad = await app.inject({ method: 'POST', url: '/api/getRate?rate=sideways' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().success, 'false');
  assert.equal((await app.inject({ method: 'POST', url: '/api/getRate' })).statusCode, 400);
});
