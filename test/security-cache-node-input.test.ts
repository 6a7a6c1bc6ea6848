// Red-team issue 13 (2): nodes the product starts are never open, and a node refuses
// metadata it could not answer with (CR/LF in an ETag, a non-image type) and bodies of the
// wrong type, instead of storing them and failing later.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { encodeEntries } from '../src/pool/entry-frames.js';
import { cacheRole } from '../src/roles/cache/cache-role.js';
import { buildTestApp } from './helpers/app.js';
import { listenOnLoopback, newStore } from './helpers/cache-server.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

const value = { bytes: Buffer.from('PNG bytes'), contentType: 'image/png', etag: '"v1"' };

test('a node refuses metadata it could not answer with, and imports that are not entry frames; nothing is stored', async (t) => {
  const store = newStore();
  const baseUrl = await listenOnLoopback(t, async (app) => {
    await app.register(cacheRole(store));
  });
  const put = (headers: Record<string, string>) => request(`${baseUrl}/cache/victim`, { method: 'PUT', headers, body: 'bytes' });
  for (const [type, etag] of [
    ['text/html', '"e"'],
    ['image/png; charset=x', '"e"'],
    ['image/png', 'e'],
    ['image/png', '"a"b"'],
    ['image/png', 'W/"weak"'],
    ['image/png', `"${'x'.repeat(300)}"`],
  ]) {
    const res = await put({ 'x-emc-content-type': type!, 'x-emc-etag': etag! });
    assert.equal(res.statusCode, 400, `${type} ${etag}`);
    await res.body.dump();
  }
  const imports = [
    { type: 'application/octet-stream', entries: [{ key: 'crlf', value: { ...value, etag: '"a"\r\nx-evil: 1' } }], status: 400 },
    { type: 'application/octet-stream', entries: [{ key: 'html', value: { ...value, contentType: 'text/html' } }], status: 400 },
    { type: 'text/plain', entries: [{ key: 'plain', value }], status: 415 },
  ];
  for (const { type, entries, status } of imports) {
    const res = await request(`${baseUrl}/import`, { method: 'POST', headers: { 'content-type': type }, body: encodeEntries(entries) });
    assert.equal(res.statusCode, status, type);
    await res.body.dump();
  }
  assert.equal(store.stats().items, 0, 'nothing stored');

  const ok = await put({ 'x-emc-content-type': 'image/png', 'x-emc-etag': '"obj-1"' });
  assert.equal(ok.statusCode, 200);
  await ok.body.dump();
  const hit = await request(`${baseUrl}/cache/victim`);
  assert.equal(hit.statusCode, 200, 'the node keeps answering');
  await hit.body.dump();
});

test('without EMC_CACHE_TOKEN the process provider still gives its nodes a token, which every process of the fleet shares', { timeout: 120_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-token-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const env = { EMC_DATA_DIR: dataDir, EMC_PROVIDER: 'process', EMC_CACHE_TIMEOUT_MS: '2000' };
  const { app: owner } = await buildTestApp(t, { env: { ...env, EMC_MIN_NODES: '2' } });
  await owner.ready();
  assert.equal((await owner.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', pngVariant(1)) })).statusCode, 200);

  const members = await owner.services.db.poolNode.findMany();
  assert.equal(members.length, 2);
  for (const { address } of members) {
    // The red team's attack: plant bytes under a key, from any local process.
    const plant = await request(`${address}/cache/k`, {
      method: 'PUT',
      headers: { 'x-emc-content-type': 'image/png', 'x-emc-etag': '"e"' },
      body: 'attacker bytes',
    });
    assert.equal(plant.statusCode, 401, `${address} is not open`);
    await plant.body.dump();
    for (const [method, path] of [['DELETE', '/cache'], ['GET', '/stats']] as const) {
      const res = await request(`${address}${path}`, { method });
      assert.equal(res.statusCode, 401, `${method} ${path}`);
      await res.body.dump();
    }
  }

  // A web host of the same fleet reads the shared token and is served by the nodes.
  const { app: web } = await buildTestApp(t, { env: { ...env, EMC_ROLE: 'web' } });
  await web.ready();
  for (let round = 0; round < 2; round++) {
    const res = await web.inject('/image/k');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.rawPayload, pngVariant(1));
  }
  const status = await web.services.pool.status();
  assert.ok(status.every((row) => row.error === undefined), JSON.stringify(status));
  assert.ok(status.reduce((n, row) => n + row.stats!.hits, 0) >= 1, 'the web host reached the nodes with the token');
});
