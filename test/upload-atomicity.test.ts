import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDb, type Db } from '../src/db/database.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { createFsBlobStore } from '../src/storage/fs-blob-store.js';
import { buildTestApp, databases, objectFiles } from './helpers/app.js';
import { images, pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

/** A database whose image writes fail while `failing.on` is set: the crash between object write and row commit. */
function withFailingImageWrites(db: Db, failing: { on: boolean }): Db {
  const image = new Proxy(db.image, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver);
      if ((prop !== 'create' && prop !== 'updateMany') || typeof real !== 'function') return real;
      return (...args: unknown[]) =>
        failing.on ? Promise.reject(new Error('injected: database lost before the row commit')) : real.apply(target, args);
    },
  });
  return new Proxy(db, { get: (target, prop, receiver) => (prop === 'image' ? image : Reflect.get(target, prop, receiver)) });
}

function withFailingPuts(store: BlobStore, failing: { on: boolean }): BlobStore {
  return { ...store, put: (name, bytes) => (failing.on ? Promise.reject(new Error('injected: disk full')) : store.put(name, bytes)) };
}

for (const database of databases) {
  describe(`uploads are atomic (${database})`, () => {
    test('a failure between writing the object and committing the row leaves no row and no orphan object', async (t) => {
      const failing = { on: false };
      const { app, config } = await buildTestApp(t, {
        database,
        overrides: (c) => ({ db: withFailingImageWrites(createDb(c.database), failing) }),
      });
      assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k1', images.png) })).statusCode, 200);
      const before = await objectFiles(config);

      failing.on = true;
      for (const key of ['k1', 'new-key']) {
        const res = await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, pngVariant(1)) });
        assert.equal(res.statusCode, 500);
        assert.equal(res.json().error.message, 'internal error; the details are in the server log');
      }
      failing.on = false;

      assert.deepEqual(await objectFiles(config), before, 'no orphan object, and the replaced one is still there');
      const got = await app.inject({ method: 'POST', url: '/api/key/k1' });
      assert.equal(got.json().content, images.png.toString('base64'), 'the row still points at the old object');
      assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, ['k1']);
    });

    test('a failing object store fails the upload and stores nothing', async (t) => {
      const failing = { on: true };
      const { app, config } = await buildTestApp(t, {
        database,
        overrides: (c) => ({ blobs: withFailingPuts(createFsBlobStore(c.blobStore.dir), failing) }),
      });
      const res = await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k1', images.png) });
      assert.equal(res.statusCode, 500);
      assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, []);
      assert.deepEqual(await objectFiles(config), []);
    });
  });
}
