import type { FastifyBaseLogger } from 'fastify';
import { loadSharedCacheConfig } from './cache/shared-cache-config.js';
import type { Config } from './config/config.js';
import { createDb, type Db } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createImageService, type ImageService } from './images/image-service.js';
import { createMetricsSink } from './metrics/create-metrics-sink.js';
import type { MetricsSink } from './metrics/metrics-sink.js';
import { createStatsPublisher } from './metrics/stats-publisher.js';
import { createCachePool, type CachePool } from './pool/cache-pool.js';
import { createPoolController, type ManagedPoolController } from './scaling/create-pool-controller.js';
import { createProvider } from './scaling/create-provider.js';
import type { NodeProvider } from './scaling/node-provider.js';
import { createPoolLock } from './scaling/pool-lock.js';
import { createScalerLoop, type ScalerLoop } from './scaling/scaler-loop.js';
import type { BlobStore } from './storage/blob-store.js';
import { createBlobStore } from './storage/create-blob-store.js';

/** The shared infrastructure of a web, manager or scaler process, whichever listeners it serves. */
export type Services = {
  db: Db;
  blobs: BlobStore;
  metrics: MetricsSink;
  provider: NodeProvider;
  pool: CachePool;
  controller: ManagedPoolController;
  images: ImageService;
  scaler: ScalerLoop | undefined;
  /** Starts the background loops; called once the listeners are ready. */
  start(): void;
  close(): Promise<void>;
};

/** Real components can be swapped for tests (a failing store, a fake provider...). */
export type ServiceOverrides = Partial<Pick<Services, 'db' | 'blobs' | 'metrics' | 'provider'>>;

/**
 * A timer task that skips its tick while the previous run is still going: a reconcile that
 * waits for the lock or starts a node (or a sync against a slow database) must not queue
 * up one more run per tick.
 */
function notOverlapping(task: () => Promise<unknown>): () => void {
  let running = false;
  return () => {
    if (running) return;
    running = true;
    void task().finally(() => (running = false));
  };
}

const runsScaler = (config: Config) => config.role === 'all' || config.role === 'scaler';
const managesPool = (config: Config) => config.role === 'all' || config.role === 'manager';

export async function createServices(config: Config, log: FastifyBaseLogger, overrides: ServiceOverrides = {}): Promise<Services> {
  const applied = await migrate(config.database);
  if (applied.length > 0) log.info({ applied }, 'database migrations applied');
  const db = overrides.db ?? createDb(config.database);
  const blobs = overrides.blobs ?? (await createBlobStore(config.blobStore));
  const metrics = overrides.metrics ?? (await createMetricsSink(config.metrics, { db, log }));
  const provider = overrides.provider ?? (await createProvider(config, log, db));
  const pool = createCachePool({ nodes: [], routing: config.cache.routing, log, probeIntervalMs: 1000 });
  const { minNodes, maxNodes, lockTtlMs, syncIntervalMs, scalerIntervalMs } = config.pool;
  const lock = createPoolLock({ db, ttlMs: lockTtlMs, waitMs: lockTtlMs + 10_000 });
  const cacheConfig = () => loadSharedCacheConfig(db);
  const controller = createPoolController({ db, provider, pool, lock, cacheConfig, minNodes, maxNodes, log });
  // The manager brings the pool to its minimum before serving; others follow what it recorded.
  await (managesPool(config) ? controller.reconcile() : controller.sync());

  // Nodes keep counters only; the process that manages the pool reads them from every member
  // and publishes, so a cache node needs neither the database nor a metrics client.
  const publisher = managesPool(config)
    ? createStatsPublisher({
        sink: metrics,
        sources: () => pool.nodes().map((node) => ({ nodeId: node.id, stats: () => node.stats() })),
        intervalMs: config.cache.statsIntervalMs,
        log,
      })
    : undefined;
  const scaler = runsScaler(config)
    ? createScalerLoop({ db, metrics, controller, minNodes, maxNodes, intervalMs: scalerIntervalMs, log })
    : undefined;
  const images = createImageService({ db, blobs, cache: pool, log });
  let follower: NodeJS.Timeout | undefined;
  let reconciler: NodeJS.Timeout | undefined;
  return {
    db,
    blobs,
    metrics,
    provider,
    pool,
    controller,
    images,
    scaler,
    start() {
      publisher?.start();
      scaler?.start();
      follower = setInterval(
        notOverlapping(() => controller.sync().catch((err) => log.warn({ err }, 'could not follow pool membership'))),
        syncIntervalMs,
      ).unref();
      if (managesPool(config)) {
        reconciler = setInterval(
          notOverlapping(() => controller.reconcile().catch((err) => log.warn({ err }, 'could not reconcile the pool'))),
          config.pool.reconcileIntervalMs,
        ).unref();
      }
    },
    async close() {
      clearInterval(follower);
      clearInterval(reconciler);
      await scaler?.stop();
      await publisher?.stop();
      await provider.close();
      await pool.close();
      await metrics.close();
      await blobs.close();
      await db.$disconnect();
    },
  };
}
