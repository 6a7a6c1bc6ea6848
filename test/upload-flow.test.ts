import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp, databases, objectFiles } from './helpers/app.js';
import { images, pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

for (const database of databases) {
  describe(`upload → look up → list → replace → delete_all (${database})`, () => {
    test('the whole life of a key through the JSON API', async (t) => {
      const { app, config } = await buildTestApp(t, { database });
      const post = (url: string, form?: ReturnType<typeof uploadForm>) => app.inject({ method: 'POST', url, ...form });

      const first = await post('/api/upload', uploadForm('k1', images.png));
      assert.equal(first.statusCode, 200);
      // The course client compares the body byte for byte.
      assert.equal(first.body, '{"success":"true","key":"k1"}');

      const got = await post('/api/key/k1');
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json(), { success: 'true', key: 'k1', content: images.png.toString('base64') });

      for (const [name, bytes] of Object.entries(images)) {
        assert.equal((await post('/api/upload', uploadForm(`type-${name}`, bytes, `x.${name}`))).statusCode, 200, name);
      }
      const listed = await post('/api/list_keys');
      assert.deepEqual(listed.json(), { success: 'true', keys: ['k1', 'type-bmp', 'type-gif', 'type-jpeg', 'type-png', 'type-webp'] });

      // Re-uploading replaces the bytes and removes the replaced object.
      const replacement = pngVariant(7);
      assert.equal((await post('/api/upload', uploadForm('k1', replacement))).statusCode, 200);
      assert.equal((await post('/api/key/k1')).json().content, replacement.toString('base64'));
      assert.equal((await objectFiles(config)).length, 6);

      const deleted = await post('/api/delete_all');
      assert.equal(deleted.body, '{"success":"true"}');
      assert.deepEqual((await post('/api/list_keys')).json(), { success: 'true', keys: [] });
      assert.equal((await post('/api/key/k1')).statusCode, 404);
      assert.deepEqual(await objectFiles(config), []);
    });

    test('keys with slashes, spaces, query-like and non-ASCII characters round-trip', async (t) => {
      const { app } = await buildTestApp(t, { database });
      const keys = ['a/b/../c', 'with space', 'q?x=1&y=#frag', 'ключ-画像-🖼', '%2F', 'x'.repeat(255)];
      for (const key of keys) {
        const res = await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, images.gif) });
        assert.equal(res.statusCode, 200, key);
        assert.equal(res.json().key, key);
        const got = await app.inject({ method: 'POST', url: `/api/key/${encodeURIComponent(key)}` });
        assert.equal(got.statusCode, 200, key);
        assert.equal(got.json().key, key);
        const bytes = await app.inject({ method: 'GET', url: `/image/${encodeURIComponent(key)}` });
        assert.equal(bytes.statusCode, 200, key);
        assert.deepEqual(bytes.rawPayload, images.gif);
      }
      const listed = (await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys;
      assert.deepEqual([...listed].sort(), [...keys].sort());
    });

    test('concurrent uploads to one key leave exactly one row and one object', async (t) => {
      const { app, config } = await buildTestApp(t, { database });
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('hot', pngVariant(i)) })),
      );
      for (const r of results) assert.equal(r.statusCode, 200, r.body);
      const stored = Buffer.from((await app.inject({ method: 'POST', url: '/api/key/hot' })).json().content, 'base64');
      assert.ok(Array.from({ length: 12 }, (_, i) => pngVariant(i)).some((v) => v.equals(stored)));
      assert.equal((await objectFiles(config)).length, 1);
    });
  });
}
