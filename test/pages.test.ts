import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from './helpers/app.js';
import { images, notImages } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

test('the pages render, upload through the form, and look up found and missing keys', async (t) => {
  const { app } = await buildTestApp(t);
  const home = await app.inject('/');
  assert.equal(home.statusCode, 200);
  assert.match(home.body, /<strong>0<\/strong> images stored/);
  assert.match((await app.inject('/upload')).body, /enctype="multipart\/form-data"/);

  const stored = await app.inject({ method: 'POST', url: '/upload', ...uploadForm('cat <b>', images.webp) });
  assert.equal(stored.statusCode, 200);
  assert.match(stored.body, /Stored <a href="\/lookup\?key=cat%20%3Cb%3E"><code>cat &lt;b&gt;<\/code><\/a>/);
  assert.match(stored.body, /image\/webp/);

  const rejected = await app.inject({ method: 'POST', url: '/upload', ...uploadForm('dog', notImages.text) });
  assert.equal(rejected.statusCode, 415);
  assert.match(rejected.body, /role="alert">file is not a PNG/);
  assert.match(rejected.body, /value="dog"/, 'the form keeps what the user typed');

  const found = await app.inject('/lookup?key=cat%20%3Cb%3E');
  assert.equal(found.statusCode, 200);
  assert.match(found.body, /<img src="\/image\/cat%20%3Cb%3E"/);

  const missing = await app.inject('/lookup?key=nope');
  assert.equal(missing.statusCode, 404);
  assert.match(missing.body, /Not found: no image is stored under <code>nope<\/code>/);

  const keys = await app.inject('/keys');
  assert.match(keys.body, /1 key, in order/);
  assert.match(keys.body, /href="\/lookup\?key=cat%20%3Cb%3E"/);
  assert.match((await app.inject('/')).body, /<strong>1<\/strong> image stored/);
  assert.equal((await app.inject('/static/css/site.css')).statusCode, 200);
});

test('GET /image/<key> serves the stored type with an ETag, nosniff, and 304 on a match', async (t) => {
  const { app } = await buildTestApp(t);
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('pic', images.gif, 'pic.html') });
  const res = await app.inject('/image/pic');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'image/gif');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.deepEqual(res.rawPayload, images.gif);
  const etag = res.headers.etag as string;
  assert.match(etag, /^"[0-9a-f-]{36}"$/);

  const again = await app.inject({ url: '/image/pic', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');

  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('pic', images.png) });
  const replaced = await app.inject({ url: '/image/pic', headers: { 'if-none-match': etag } });
  assert.equal(replaced.statusCode, 200, 'a replaced image has a new ETag');
  assert.equal(replaced.headers['content-type'], 'image/png');

  const missing = await app.inject({ url: '/image/nope', headers: { accept: 'text/html' } });
  assert.equal(missing.statusCode, 404);
  assert.match(missing.body, /no image under the key &quot;nope&quot;/);
});

test('the manager listener serves the console (behind a login) and the API; the cache listener serves a node', async (t) => {
  const manager = await buildTestApp(t, { listener: 'manager' });
  const page = await manager.app.inject({ url: '/', headers: { accept: 'text/html' } });
  assert.equal(page.statusCode, 302);
  assert.match(page.headers.location as string, /^\/login/);
  assert.equal((await manager.app.inject({ method: 'POST', url: '/api/list_keys' })).statusCode, 200);

  const cache = await buildTestApp(t, { listener: 'cache' });
  assert.deepEqual((await cache.app.inject('/health')).json(), { status: 'ok' });
  assert.equal((await cache.app.inject('/stats')).json().policy, 'LRU');
});

test('management calls honour the admin token', async (t) => {
  const { app } = await buildTestApp(t, { env: { EMC_ADMIN_TOKEN: 's3cret' } });
  const configure = await app.inject({ method: 'POST', url: '/api/configure_cache?numNodes=2' });
  assert.equal(configure.statusCode, 401);
  assert.equal(app.services.pool.nodes().length, 1);

  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k', images.png) });
  const refused = await app.inject({ method: 'POST', url: '/api/delete_all' });
  assert.equal(refused.statusCode, 401);
  assert.equal(refused.json().error.code, 401);
  const wrong = await app.inject({ method: 'POST', url: '/api/delete_all', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 401);
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, ['k']);
  const allowed = await app.inject({ method: 'POST', url: '/api/delete_all', headers: { authorization: 'Bearer s3cret' } });
  assert.equal(allowed.statusCode, 200);
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, []);
});
