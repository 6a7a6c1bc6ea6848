import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createS3BlobStore, createS3Client } from '../src/storage/s3-blob-store.js';

// The S3 paths themselves run against moto in test/aws/s3-blob-store.test.ts (npm run test:aws);
// here only what moto cannot show: per-key DeleteObjects errors and IAM's 403 for a missing key.
const bucket = 'emc-test';

function mocked(t: TestContext) {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(s3);
  t.after(() => mock.restore());
  return { s3, mock };
}

const accessDenied = () =>
  new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' });

describe('S3 blob store (mocked client)', () => {
  it('throws when DeleteObjects reports per-key errors', async (t) => {
    const { s3, mock } = mocked(t);
    const key = `p/${randomUUID()}`;
    mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: key }], IsTruncated: false });
    mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: key, Code: 'AccessDenied', Message: 'Access Denied' }] });
    const store = createS3BlobStore({ s3, bucket, prefix: 'p/' });
    await assert.rejects(store.deleteAll(), /could not delete 1 of 1 objects.*AccessDenied/);
    assert.deepEqual(mock.commandCalls(DeleteObjectsCommand)[0]!.args[0].input.Delete?.Objects, [{ Key: key }]);
    await store.close();
  });

  it('reads a 403 for a key its prefix listing does not show as a missing image, any other 403 as an error', async (t) => {
    // S3 answers GetObject on a missing key with 403 unless the caller may list the whole
    // bucket; the roles' s3:ListBucket is conditioned on s3:prefix, so that is what they get.
    const { s3, mock } = mocked(t);
    const present = randomUUID();
    mock.on(GetObjectCommand).rejects(accessDenied());
    mock.on(ListObjectsV2Command).callsFake(({ Prefix }: { Prefix?: string }) => ({
      Contents: Prefix === `p/${present}` ? [{ Key: `p/${present}` }] : [],
    }));
    const store = createS3BlobStore({ s3, bucket, prefix: 'p/' });
    assert.equal(await store.get(randomUUID()), null);
    assert.deepEqual(mock.commandCalls(ListObjectsV2Command).at(-1)!.args[0].input.MaxKeys, 1);
    await assert.rejects(store.get(present), (err: Error) => err.name === 'AccessDenied', 'a listed object that cannot be read is denied, not missing');
    mock.on(ListObjectsV2Command).rejects(accessDenied());
    await assert.rejects(store.get(randomUUID()), (err: Error) => err.name === 'AccessDenied', 'no listing either: a wrong role, reported');
    await store.close();
  });

  it('createS3Client addresses buckets by path only for a custom endpoint', async (t) => {
    const custom = createS3Client({ endpoint: 'http://127.0.0.1:9' });
    const aws = createS3Client();
    t.after(() => {
      custom.destroy();
      aws.destroy();
    });
    assert.equal(custom.config.forcePathStyle, true);
    assert.notEqual(aws.config.forcePathStyle, true);
    assert.equal((await custom.config.endpoint?.())?.hostname, '127.0.0.1');
  });
});
