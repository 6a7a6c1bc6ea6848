import type { FastifyBaseLogger } from 'fastify';
import { createCacheStore } from './cache/cache-store.js';
import { loadSharedCacheConfig } from './cache/shared-cache-config.js';
import type { Config } from './config/config.js';
import { createDb, type Db } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createImageService, type ImageService } from './images/image-service.js';
import { createDbMetricsSink } from './metrics/db-metrics-sink.js';
import type { MetricsSink } from './metrics/metrics-sink.js';
import { createStatsPublisher, type StatsSource } from './metrics/stats-publisher.js';
import { createCachePool, type CachePool } from './pool/cache-pool.js';
import { createInProcessCacheNode } from './pool/inprocess-cache-node.js';
import type { BlobStore } from './storage/blob-store.js';
import { createFsBlobStore } from './storage/fs-blob-store.js';

/** The shared infrastructure of a web/manager process, whichever listeners it serves. */
export type Services = {
  db: Db;
  blobs: BlobStore;
  metrics: MetricsSink;
  pool: CachePool;
  images: ImageService;
  /** Starts background loops; called once the listeners are ready. */
  start(): void;
  close(): Promise<void>;
};

/** Real components can be swapped for tests (a failing store, a pool of HTTP nodes...). */
export type ServiceOverrides = Partial<Pick<Services, 'db' | 'blobs' | 'metrics' | 'pool'>>;

export async function createServices(config: Config, log: FastifyBaseLogger, overrides: ServiceOverrides = {}): Promise<Services> {
  const applied = await migrate(config.database);
  if (applied.length > 0) log.info({ applied }, 'database migrations applied');
  const db = overrides.db ?? createDb(config.database);
  const blobs = overrides.blobs ?? createFsBlobStore(config.blobStore.dir);
  const metrics = overrides.metrics ?? createDbMetricsSink({ db, log });

  // The embedded pool: one in-process shard with the shared configuration.
  // Shards hosted here publish their statistics from here; remote nodes publish their own.
  const hosted: StatsSource[] = [];
  let pool = overrides.pool;
  if (!pool) {
    const store = createCacheStore(await loadSharedCacheConfig(db));
    hosted.push({ nodeId: 'node-1', stats: () => store.stats() });
    pool = createCachePool({ nodes: [createInProcessCacheNode('node-1', store)], routing: config.cache.routing, log });
  }
  const publisher = createStatsPublisher({ sink: metrics, sources: () => hosted, intervalMs: config.cache.statsIntervalMs, log });
  const images = createImageService({ db, blobs, cache: pool, log });
  return {
    db,
    blobs,
    metrics,
    pool,
    images,
    start: () => publisher.start(),
    async close() {
      await publisher.stop();
      await pool.close();
      await metrics.close();
      await blobs.close();
      await db.$disconnect();
    },
  };
}
