import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/config.js';
import { createDb, type Db } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createImageService, type ImageService } from './images/image-service.js';
import type { BlobStore } from './storage/blob-store.js';
import { createFsBlobStore } from './storage/fs-blob-store.js';

/** The shared infrastructure one process runs on, whichever listeners it serves. */
export type Services = {
  db: Db;
  blobs: BlobStore;
  images: ImageService;
  close(): Promise<void>;
};

/** Real components can be swapped for tests (e.g. a failing store). */
export type ServiceOverrides = Partial<Pick<Services, 'db' | 'blobs'>>;

export async function createServices(config: Config, log: FastifyBaseLogger, overrides: ServiceOverrides = {}): Promise<Services> {
  const applied = await migrate(config.database);
  if (applied.length > 0) log.info({ applied }, 'database migrations applied');
  const db = overrides.db ?? createDb(config.database);
  const blobs = overrides.blobs ?? createFsBlobStore(config.blobStore.dir);
  const images = createImageService({ db, blobs, log });
  return {
    db,
    blobs,
    images,
    async close() {
      await blobs.close();
      await db.$disconnect();
    },
  };
}
