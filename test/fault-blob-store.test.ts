// Fault: the blob store failing during uploads. Whatever step fails, no row ever points
// at a missing object; the worst left behind is an orphan object nobody references.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createDb, type Db } from '../src/db/database.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { createFsBlobStore } from '../src/storage/fs-blob-store.js';
import { buildTestApp, objectFiles } from './helpers/app.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

type Switches = { put?: boolean; delete?: boolean };

/** A store whose chosen operations fail while their switch is on; it counts the failures. */
function failingStore(store: BlobStore, failing: Switches) {
  const failures = { put: 0, delete: 0 };
  const blobs: BlobStore = {
    ...store,
    put: (name, bytes) => {
      if (!failing.put) return store.put(name, bytes);
      failures.put++;
      return Promise.reject(new Error('injected: the object store refused the write'));
    },
    delete: (name) => {
      if (!failing.delete) return store.delete(name);
      failures.delete++;
      return Promise.reject(new Error('injected: the object store refused the delete'));
    },
  };
  return { blobs, failures };
}

/** A database whose image row writes fail while `failing.on` is set. */
function failingRowWrites(db: Db, failing: { on: boolean }): Db {
  const image = new Proxy(db.image, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver);
      if ((prop !== 'create' && prop !== 'updateMany') || typeof real !== 'function') return real;
      return (...args: unknown[]) => (failing.on ? Promise.reject(new Error('injected: row commit failed')) : real.apply(target, args));
    },
  });
  return new Proxy(db, { get: (target, prop, receiver) => (prop === 'image' ? image : Reflect.get(target, prop, receiver)) });
}

/** The invariant: every row names an object that exists. Returns the rows' object names. */
async function assertRowsPointAtObjects(app: FastifyInstance): Promise<string[]> {
  const rows = await app.services.db.image.findMany({ orderBy: { key: 'asc' } });
  for (const row of rows) {
    assert.ok(await app.services.blobs.get(row.objectName), `the row of ${row.key} points at a missing object ${row.objectName}`);
  }
  return rows.map((r) => r.objectName);
}

const upload = (app: FastifyInstance, key: string, bytes: Buffer) => app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, bytes) });

test('deleting the replaced object fails: the upload succeeds, the row names the new object, the old one is an orphan', async (t) => {
  const failing: Switches = {};
  let failures!: { put: number; delete: number };
  const { app, config } = await buildTestApp(t, {
    overrides: (c) => {
      const store = failingStore(createFsBlobStore(c.blobStore.dir), failing);
      failures = store.failures;
      return { blobs: store.blobs };
    },
  });
  assert.equal((await upload(app, 'k1', pngVariant(1))).statusCode, 200);
  const [oldObject] = await assertRowsPointAtObjects(app);
  const cached = await app.inject('/image/k1'); // the old image is now in the cache
  assert.equal(cached.headers.etag, `"${oldObject}"`);

  failing.delete = true;
  const replaced = await upload(app, 'k1', pngVariant(2));
  assert.deepEqual(replaced.json(), { success: 'true', key: 'k1' }, 'the replacement itself is committed, so it is reported');
  assert.equal(failures.delete, 1, 'the replaced object was to be deleted');

  const [newObject] = await assertRowsPointAtObjects(app);
  assert.notEqual(newObject, oldObject);
  const served = await app.inject('/image/k1');
  assert.ok(served.rawPayload.equals(pngVariant(2)), 'the cached copy of the old image was invalidated before the delete failed');
  assert.equal(served.headers.etag, `"${newObject}"`);
  assert.equal((await app.inject({ method: 'POST', url: '/api/key/k1' })).json().content, pngVariant(2).toString('base64'));
  assert.deepEqual(await objectFiles(config), [oldObject, newObject].sort(), 'the old object is left behind, unreferenced');

  // Once the store deletes again, the next replacement cleans up after itself (the orphan stays an orphan).
  failing.delete = false;
  assert.equal((await upload(app, 'k1', pngVariant(3))).statusCode, 200);
  const [latest] = await assertRowsPointAtObjects(app);
  assert.deepEqual(await objectFiles(config), [oldObject, latest].sort());
});

test('writing the new object fails while replacing: the upload fails and the old image stays, whole', async (t) => {
  const failing: Switches = {};
  const { app, config } = await buildTestApp(t, {
    overrides: (c) => ({ blobs: failingStore(createFsBlobStore(c.blobStore.dir), failing).blobs }),
  });
  assert.equal((await upload(app, 'k1', pngVariant(1))).statusCode, 200);
  const before = await objectFiles(config);

  failing.put = true;
  const res = await upload(app, 'k1', pngVariant(2));
  assert.equal(res.statusCode, 500);
  assert.deepEqual(res.json(), { success: 'false', error: { code: 500, message: 'internal error; the details are in the server log' } });
  assert.deepEqual(await assertRowsPointAtObjects(app), before);
  assert.deepEqual(await objectFiles(config), before);
  assert.ok((await app.inject('/image/k1')).rawPayload.equals(pngVariant(1)));
});

test('the row commit fails and removing the new object fails too: the old image stays, the new object is an orphan', async (t) => {
  const failing: Switches = {};
  const rows = { on: false };
  const { app, config } = await buildTestApp(t, {
    overrides: (c) => ({
      db: failingRowWrites(createDb(c.database), rows),
      blobs: failingStore(createFsBlobStore(c.blobStore.dir), failing).blobs,
    }),
  });
  assert.equal((await upload(app, 'k1', pngVariant(1))).statusCode, 200);
  const [oldObject] = await objectFiles(config);

  rows.on = true;
  failing.delete = true;
  for (const key of ['k1', 'k2']) assert.equal((await upload(app, key, pngVariant(2))).statusCode, 500, key);
  rows.on = false;
  failing.delete = false;

  assert.deepEqual(await assertRowsPointAtObjects(app), [oldObject], 'k1 still names its old object; k2 has no row');
  assert.equal((await objectFiles(config)).length, 3, 'two orphans of the failed uploads, referenced by nothing');
  assert.ok((await app.inject('/image/k1')).rawPayload.equals(pngVariant(1)));
  assert.equal((await app.inject('/image/k2')).statusCode, 404);
  assert.deepEqual((await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys, ['k1']);
});
