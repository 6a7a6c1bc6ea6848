import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertObjectName, type BlobStore } from './blob-store.js';

/** S3 refuses DeleteObjects with more keys than this. */
const MAX_DELETE_BATCH = 1000;

export type S3BlobStoreDeps = {
  /** Owned by the store from now on: `close()` destroys it. */
  s3: S3Client;
  bucket: string;
  /** Prepended verbatim to every object name, e.g. `images/`; `deleteAll` never reaches outside it. */
  prefix: string;
  /** Keys listed and deleted per round trip (at most 1000); smaller only to exercise paging in tests. */
  deleteBatchSize?: number;
};

/** Images as objects `<prefix><name>` in one bucket. */
export function createS3BlobStore({ s3, bucket, prefix, deleteBatchSize = MAX_DELETE_BATCH }: S3BlobStoreDeps): BlobStore {
  if (!Number.isInteger(deleteBatchSize) || deleteBatchSize < 1 || deleteBatchSize > MAX_DELETE_BATCH) {
    throw new RangeError(`deleteBatchSize must be 1..${MAX_DELETE_BATCH}, got ${deleteBatchSize}`);
  }
  const keyOf = (name: string) => {
    assertObjectName(name);
    return `${prefix}${name}`;
  };

  async function deleteBatch(keys: string[]): Promise<void> {
    const { Errors: errors = [] } = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    );
    // DeleteObjects answers 200 even when some keys failed; only the body tells.
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new Error(`could not delete ${errors.length} of ${keys.length} objects (first: ${first.Key}: ${first.Code} ${first.Message})`);
    }
  }

  /**
   * S3 answers a missing key with 403, not 404, unless the caller may list the whole bucket
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"); the
   * roles may list only their prefix. Listing the key itself (allowed) tells the two apart.
   */
  async function listed(key: string): Promise<boolean> {
    const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
    return Contents.some((o) => o.Key === key);
  }

  return {
    async put(name, bytes) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(name), Body: bytes, ContentLength: bytes.length }));
    },

    async get(name) {
      try {
        const { Body: body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(name) }));
        if (!body) return Buffer.alloc(0);
        const bytes = await body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (err) {
        if (isNotFound(err) || (isAccessDenied(err) && !(await listed(keyOf(name)).catch(() => true)))) return null;
        throw err;
      }
    },

    async delete(name) {
      // S3 answers 204 for a missing key too.
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(name) }));
    },

    async deleteAll() {
      let count = 0;
      let token: string | undefined;
      // The continuation token names the last key listed, so deleting a page does not shift the next one.
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: deleteBatchSize, ContinuationToken: token }),
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
        if (keys.length > 0) await deleteBatch(keys);
        count += keys.length;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return count;
    },

    async close() {
      s3.destroy();
    },
  };
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  // A missing bucket is also a 404, but it is a misconfiguration, not a missing image.
  return err.name === 'NoSuchKey' || (err.$metadata.httpStatusCode === 404 && err.name !== 'NoSuchBucket');
}

function isAccessDenied(err: unknown): boolean {
  return err instanceof S3ServiceException && err.$metadata.httpStatusCode === 403;
}

/**
 * A client on the SDK's default chain (environment, shared config, instance role):
 * no credentials or region live in code. An `endpoint` means an S3-compatible server
 * (MinIO, moto), which addresses buckets by path rather than by host name.
 */
export function createS3Client({ endpoint }: { endpoint?: string } = {}): S3Client {
  return new S3Client(endpoint ? { endpoint, forcePathStyle: true } : {});
}
