import type { Config } from '../config/config.js';
import type { BlobStore } from './blob-store.js';
import { createFsBlobStore } from './fs-blob-store.js';

/** The store the configuration names; an S3 store owns (and on close destroys) its client. */
export async function createBlobStore(config: Config['blobStore']): Promise<BlobStore> {
  if (config.kind === 'fs') return createFsBlobStore(config.dir);
  // Configuration refuses EMC_BLOB_STORE=s3 without a bucket; this only narrows the type.
  if (!config.s3) throw new Error('the s3 blob store needs EMC_S3_BUCKET');
  const { bucket, prefix, endpoint } = config.s3;
  // Loaded only when configured: the AWS SDK is heavy for processes that never use it.
  const { createS3BlobStore, createS3Client } = await import('./s3-blob-store.js');
  return createS3BlobStore({ s3: createS3Client({ endpoint }), bucket, prefix });
}
