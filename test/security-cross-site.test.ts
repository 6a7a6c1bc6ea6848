// Red-team issue 13 (1): requests a browser sends from another site change nothing; scripts
// without browser headers (the course's tester) are unaffected. The browser itself: test/e2e/cross-site.e2e.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from './helpers/app.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

const keys = async (app: Awaited<ReturnType<typeof buildTestApp>>['app']) =>
  (await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys;

test('state-changing requests marked cross-site by Origin or Sec-Fetch-Site are refused, on the API and the pages', async (t) => {
  const { app } = await buildTestApp(t);
  assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('victim', images.png) })).statusCode, 200);
  const foreign = [
    { origin: 'http://evil.example' },
    { origin: 'null' },
    { origin: 'http://localhost:8080' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site', origin: 'http://localhost' },
  ];
  for (const headers of foreign) {
    const wipe = await app.inject({ method: 'POST', url: '/api/delete_all', payload: 'a=b', headers: { ...headers, 'content-type': 'text/plain' } });
    assert.equal(wipe.statusCode, 403, JSON.stringify(headers));
    assert.match(wipe.json().error.message, /another site/);
    const form = uploadForm('planted', images.png);
    for (const url of ['/api/upload', '/upload']) {
      const plant = await app.inject({ method: 'POST', url, payload: form.payload, headers: { ...form.headers, ...headers } });
      assert.equal(plant.statusCode, 403, `${url} ${JSON.stringify(headers)}`);
    }
  }
  assert.deepEqual(await keys(app), ['victim']);

  // The same browser on this site (also through a TLS-terminating proxy), and reads from anywhere, still work.
  const own = uploadForm('own', images.png);
  for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { origin: 'http://localhost:80', host: 'localhost:80' }, { origin: 'https://emc.example', host: 'emc.example' }, { 'sec-fetch-site': 'none' }]) {
    const res = await app.inject({ method: 'POST', url: '/api/upload', payload: own.payload, headers: { ...own.headers, ...headers } });
    assert.equal(res.statusCode, 200, JSON.stringify(headers));
  }
  assert.equal((await app.inject({ url: '/keys', headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })).statusCode, 200);
});

test('management calls refuse the bodies a browser sends without a preflight; the course tester (no headers, no body) is unchanged', async (t) => {
  const { app } = await buildTestApp(t);
  assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('keep', images.png) })).statusCode, 200);
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    for (const url of ['/api/delete_all', '/api/configure_cache?cacheSize=2']) {
      const res = await app.inject({ method: 'POST', url, payload: 'x=y', headers: { 'content-type': type } });
      assert.equal(res.statusCode, 415, `${url} ${type}`);
      assert.match(res.json().error.message, /takes no body/);
    }
  }
  assert.deepEqual(await keys(app), ['keep']);
  const configured = await app.inject({ method: 'POST', url: '/api/configure_cache?cacheSize=2' });
  assert.equal(configured.json().cacheSize, 2);
  assert.equal((await app.inject({ method: 'POST', url: '/api/delete_all' })).json().success, 'true');
  assert.deepEqual(await keys(app), []);
});
