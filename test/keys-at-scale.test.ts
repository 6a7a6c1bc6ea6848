// Red-team issue 13 (8): /keys is paged and bounded, the home page counts with a count query,
// and list_keys streams every key in batches (the course API still returns them all).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEY_LIST_BATCH } from '../src/api/key-list-stream.js';
import { KEYS_PAGE_SIZE } from '../src/roles/web/pages.js';
import { buildTestApp } from './helpers/app.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

/** Rows only (no objects): what paging and listing read. Keys sort as their numbers do. */
async function storeRows(app: Awaited<ReturnType<typeof buildTestApp>>['app'], count: number, prefix = 'key-'): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
  for (let i = 0; i < keys.length; i += 1000) {
    const rows = keys.slice(i, i + 1000).map((key) => ({ key, objectName: `obj-${key}`, contentType: 'image/png', size: 1 }));
    await app.services.db.image.createMany({ data: rows });
  }
  return keys;
}

test('/keys shows one bounded page at a time, and the pages together list every key once, in order', async (t) => {
  const { app } = await buildTestApp(t);
  const keys = await storeRows(app, KEYS_PAGE_SIZE * 2 + 37);
  const seen: string[] = [];
  let url: string | undefined = '/keys';
  let pages = 0;
  while (url) {
    const res: { statusCode: number; body: string } = await app.inject(url);
    assert.equal(res.statusCode, 200);
    assert.ok(res.body.length < 100_000, `a page is ${res.body.length} bytes`);
    assert.match(res.body, new RegExp(`${keys.length} keys, in order`));
    const onPage = [...res.body.matchAll(/<li><a href="[^"]+"><code>(key-\d+)<\/code>/g)].map((m) => m[1]!);
    assert.ok(onPage.length <= KEYS_PAGE_SIZE);
    seen.push(...onPage);
    url = /rel="next" href="([^"]+)"/.exec(res.body)?.[1]?.replaceAll('&amp;', '&');
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, keys);

  const home = await app.inject('/');
  assert.match(home.body, new RegExp(`<strong>${keys.length}</strong> images stored`));
});

test('list_keys returns every key across several database batches, as one valid JSON answer', async (t) => {
  const { app } = await buildTestApp(t);
  const keys = await storeRows(app, KEY_LIST_BATCH * 2 + 11);
  // A key that needs escaping in JSON, uploaded for real.
  const odd = 'zz "quoted" \\ / é 🙂';
  assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(odd, images.png) })).statusCode, 200);
  const res = await app.inject({ method: 'POST', url: '/api/list_keys' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.equal(body.success, 'true');
  assert.deepEqual(body.keys, [...keys, odd]);

  // Exactly one batch, and none at all.
  await app.inject({ method: 'POST', url: '/api/delete_all' });
  const exact = await storeRows(app, KEY_LIST_BATCH, 'b-');
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, exact);
  await app.services.db.image.deleteMany();
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json(), { success: 'true', keys: [] });
});
