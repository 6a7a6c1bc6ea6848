import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/config.js';
import { createBlobStore } from '../../src/storage/create-blob-store.js';
import { createS3BlobStore, createS3Client } from '../../src/storage/s3-blob-store.js';
import { buildTestApp } from '../helpers/app.js';
import { images, pngVariant } from '../helpers/fixtures.js';
import { useMoto } from '../helpers/moto.js';
import { uploadForm } from '../helpers/multipart.js';

const bucket = 'emc-test';
const moto = useMoto({ before, after });

beforeEach(async () => {
  await moto().reset();
  const s3 = createS3Client({ endpoint: moto().endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
});

/** The project's own client: the SDK's default chain, pointed at moto by the environment useMoto sets. */
function testClient(t: TestContext): S3Client {
  const s3 = createS3Client({ endpoint: moto().endpoint });
  t.after(() => s3.destroy());
  return s3;
}

async function keysUnder(s3: S3Client, prefix: string): Promise<string[]> {
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return Contents.map((o) => o.Key!).sort();
}

async function putRaw(s3: S3Client, key: string, body = 'x'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

const uniquePrefix = () => `t-${randomUUID()}/`;

describe('S3 blob store (moto)', () => {
  it('stores, replaces and deletes objects under the prefix, bytes exactly', async (t) => {
    const s3 = testClient(t);
    const prefix = uniquePrefix();
    const store = createS3BlobStore({ s3: testClient(t), bucket, prefix });
    const name = randomUUID();
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const bytes = Buffer.concat([every, randomBytes(200_000), every]);

    assert.equal(await store.get(name), null);
    await store.put(name, bytes);
    assert.deepEqual(await keysUnder(s3, prefix), [`${prefix}${name}`]);
    assert.ok((await store.get(name))!.equals(bytes));

    await store.put(name, every);
    assert.ok((await store.get(name))!.equals(every), 'a second put replaces the object');

    await store.put(randomUUID(), Buffer.alloc(0));
    assert.equal((await keysUnder(s3, prefix)).length, 2);

    await store.delete(name);
    assert.equal(await store.get(name), null);
    await store.delete(name);
    await store.delete(randomUUID());
  });

  it('refuses names it did not generate, before any request', async (t) => {
    const store = createS3BlobStore({ s3: testClient(t), bucket, prefix: uniquePrefix() });
    await assert.rejects(store.put('../escape', Buffer.from('x')), /invalid object name/);
    await assert.rejects(store.get('a/b'), /invalid object name/);
    await assert.rejects(store.delete(''), /invalid object name/);
  });

  it('deleteAll pages and batches through the prefix only', async (t) => {
    const s3 = testClient(t);
    const prefix = uniquePrefix();
    const storeClient = testClient(t);
    const commands: string[] = [];
    storeClient.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName!);
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = createS3BlobStore({ s3: storeClient, bucket, prefix, deleteBatchSize: 10 });
    assert.equal(await store.deleteAll(), 0, 'nothing to delete');

    const names = Array.from({ length: 25 }, () => randomUUID());
    for (const name of names) await store.put(name, Buffer.from(name));
    // Neighbours that share the prefix's first characters but are outside it.
    const outside = [prefix.slice(0, -1), `${prefix.slice(0, -1)}-other/${randomUUID()}`, `elsewhere/${randomUUID()}`];
    for (const key of outside) await putRaw(s3, key);

    commands.length = 0;
    assert.equal(await store.deleteAll(), 25);
    assert.deepEqual(await keysUnder(s3, prefix), []);
    assert.equal(commands.filter((c) => c === 'DeleteObjectsCommand').length, 3, '10 + 10 + 5');
    for (const key of outside) {
      const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(await Body!.transformToString(), 'x', `${key} survives`);
    }
  });

  it('reports a missing bucket as an error, not as a missing image', async (t) => {
    const store = createS3BlobStore({ s3: testClient(t), bucket: 'no-such-bucket', prefix: '' });
    await assert.rejects(store.get(randomUUID()), (err: Error) => err.name === 'NoSuchBucket');
  });

  it('end to end: upload, look up, replace and delete_all through the JSON API', async (t) => {
    const s3 = testClient(t);
    const { app, config } = await buildTestApp(t, {
      env: { EMC_BLOB_STORE: 's3', EMC_S3_BUCKET: bucket, EMC_S3_ENDPOINT: moto().endpoint, EMC_S3_PREFIX: uniquePrefix() },
      // The test's credentials go straight to the store and never into configuration.
      overrides: (c) => ({ blobs: createS3BlobStore({ s3: testClient(t), bucket: c.blobStore.s3!.bucket, prefix: c.blobStore.s3!.prefix }) }),
    });
    const { prefix } = config.blobStore.s3!;
    const outsider = `elsewhere/${randomUUID()}`;
    await putRaw(s3, outsider);
    const post = (url: string, form?: ReturnType<typeof uploadForm>) => app.inject({ method: 'POST', url, ...form });

    assert.equal((await post('/api/upload', uploadForm('k1', images.png))).body, '{"success":"true","key":"k1"}');
    const [first] = await keysUnder(s3, prefix);
    assert.ok(first, 'one object stored');
    assert.deepEqual((await post('/api/key/k1')).json(), { success: 'true', key: 'k1', content: images.png.toString('base64') });

    const replacement = pngVariant(3);
    assert.equal((await post('/api/upload', uploadForm('k1', replacement))).statusCode, 200);
    const afterReplace = await keysUnder(s3, prefix);
    assert.equal(afterReplace.length, 1, 'the replaced object is gone');
    assert.notEqual(afterReplace[0], first);
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: afterReplace[0] }));
    assert.ok(Buffer.from(await Body!.transformToByteArray()).equals(replacement));
    assert.equal((await post('/api/key/k1')).json().content, replacement.toString('base64'));

    assert.equal((await post('/api/upload', uploadForm('k2', images.gif, 'x.gif'))).statusCode, 200);
    assert.equal((await post('/api/delete_all')).body, '{"success":"true"}');
    assert.deepEqual(await keysUnder(s3, prefix), []);
    assert.equal((await post('/api/key/k1')).statusCode, 404);
    assert.deepEqual(await keysUnder(s3, outsider), [outsider], 'objects outside the prefix survive delete_all');
  });
});

describe('blob store selection', () => {
  it('EMC_BLOB_STORE=s3 reaches the bucket through the SDK default chain', async (t) => {
    // The default chain reads the environment, where useMoto put moto's endpoint and dummy credentials.
    const prefix = uniquePrefix();
    const config = loadConfig({ EMC_LOG_LEVEL: 'silent', EMC_BLOB_STORE: 's3', EMC_S3_BUCKET: bucket, EMC_S3_ENDPOINT: moto().endpoint, EMC_S3_PREFIX: prefix });
    const store = await createBlobStore(config.blobStore);
    t.after(() => store.close());
    const name = randomUUID();
    await store.put(name, Buffer.from('via config'));
    assert.deepEqual(await keysUnder(testClient(t), prefix), [`${prefix}${name}`]);
    assert.equal(await store.deleteAll(), 1);
  });
});

