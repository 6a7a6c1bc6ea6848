import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config/config.js';
import { createDb, type Db } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createImageService, type ImageService } from './images/image-service.js';
import { createMetricsSink } from './metrics/create-metrics-sink.js';
import type { MetricsSink } from './metrics/metrics-sink.js';
import { createStatsPublisher } from './metrics/stats-publisher.js';
import { createCachePool, type CachePool } from './pool/cache-pool.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { cacheTokenOf, createProvider, createWorkerProvider } from './scaling/create-provider.js';
import { httpNodeConnector } from './scaling/http-node-clients.js';
import { createLeaderLease } from './scaling/leader-lease.js';
import type { NodeProvider, ProvidedNode } from './scaling/node-provider.js';
import type { WorkerProvider } from './scaling/worker-provider.js';
import { notOverlapping } from './scaling/not-overlapping.js';
import { createPoolLeader, type ManagedPool, type PoolLeader } from './scaling/pool-leader.js';
import { createPoolMembers, type PoolMembers } from './scaling/pool-members.js';
import { createPoolRequests, type PoolRequests } from './scaling/pool-requests.js';
import { cachePoolSteps } from './scaling/pool-transition.js';
import { createWebPool, type WebPool } from './scaling/web-pool.js';
import { webPoolSteps } from './scaling/web-pool-steps.js';
import { createScalerLoop, type ScalerLoop } from './scaling/scaler-loop.js';
import { cacheScaling, webScaling } from './scaling/scaler-rules.js';
import type { BlobStore } from './storage/blob-store.js';
import { createBlobStore } from './storage/create-blob-store.js';

/** The shared infrastructure of a web, manager or scaler process, whichever listeners it serves. */
export type Services = {
  db: Db;
  blobs: BlobStore;
  metrics: MetricsSink;
  pool: CachePool;
  /** This process's routing to the recorded members. */
  members: PoolMembers;
  /** Asks for cache pool changes (desired-state writes) and waits for the leader to apply them. */
  requests: PoolRequests;
  /** The web pool (EMC_WEB_POOL is not none): `workers.requests` acts on it, `workers.list()` shows its workers. */
  workers: WebPool | undefined;
  /** Only in processes that manage the pools (manager, all): the one lease and, while leading, the providers. */
  leader: PoolLeader | undefined;
  images: ImageService;
  scaler: ScalerLoop | undefined;
  /** Starts the background loops; called once the listeners are ready. */
  start(): void;
  close(): Promise<void>;
};

/** Real components can be swapped for tests (a failing store, a fake provider...). */
export type ServiceOverrides = Partial<Pick<Services, 'db' | 'blobs' | 'metrics'> & { provider: NodeProvider; workerProvider: WorkerProvider }>;

const runsScaler = (config: Config) => config.role === 'all' || config.role === 'scaler';
const managesPool = (config: Config) => config.role === 'all' || config.role === 'manager';

export async function createServices(config: Config, log: FastifyBaseLogger, overrides: ServiceOverrides = {}): Promise<Services> {
  const applied = await migrate(config.database);
  if (applied.length > 0) log.info({ applied }, 'database migrations applied');
  const db = overrides.db ?? createDb(config.database);
  const blobs = overrides.blobs ?? (await createBlobStore(config.blobStore));
  const metrics = overrides.metrics ?? (await createMetricsSink(config.metrics, { db, log }));
  // In-process shards are in this process already: a near copy would only double their memory.
  const nearCacheBytes = config.pool.provider === 'inprocess' ? 0 : config.cache.nearCacheBytes;
  const pool = createCachePool({ nodes: [], routing: config.cache.routing, log, probeIntervalMs: 1000, nearCacheBytes });
  const { minNodes, maxNodes, syncIntervalMs, scalerIntervalMs } = config.pool;
  const bounds = { min: minNodes, max: maxNodes };
  const webBounds = { min: config.webPool.minWorkers, max: config.webPool.maxWorkers };
  const hasWebPool = config.webPool.kind !== 'none';
  const cacheToken = await cacheTokenOf(config, db);
  const http = httpNodeConnector({ timeoutMs: config.cache.timeoutMs, token: cacheToken });
  let leader: PoolLeader | undefined;
  let cacheProvider: NodeProvider | undefined;
  // In-process shards are reached through the provider that holds them; every other node over HTTP.
  const connect = (m: ProvidedNode) => (m.address === 'inprocess' ? cacheProvider!.connect(m) : http(m));
  const members = createPoolMembers({ db, pool, connect });
  if (managesPool(config)) {
    const cachePool: ManagedPool = {
      name: 'cache',
      bounds,
      async open() {
        const provider = overrides.provider ?? (await createProvider(config, log, cacheToken));
        cacheProvider = provider;
        return { provider, steps: cachePoolSteps({ db, pool, members, provider }) };
      },
    };
    const webPool: ManagedPool = {
      name: 'web',
      bounds: webBounds,
      async open() {
        const provider = overrides.workerProvider ?? (await createWorkerProvider(config, log));
        return { provider, steps: webPoolSteps(provider, config.cache.timeoutMs) };
      },
    };
    leader = createPoolLeader({
      db,
      pools: hasWebPool ? [cachePool, webPool] : [cachePool],
      lease: createLeaderLease({ db, holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, ttlMs: config.pool.leaseTtlMs }),
      intervalMs: syncIntervalMs,
      leaseIntervalMs: Math.min(syncIntervalMs, config.pool.leaseTtlMs / 3),
      healthIntervalMs: config.pool.reconcileIntervalMs,
      log,
    });
  }
  const requests = createPoolRequests({
    db,
    pool: 'cache',
    bounds,
    waitMs: config.pool.resizeWaitMs,
    written: () => void leader?.kick(),
    applied: () => members.sync(),
  });
  const workers = hasWebPool
    ? createWebPool({
        db,
        requests: createPoolRequests({ db, pool: 'web', bounds: webBounds, waitMs: config.pool.resizeWaitMs, written: () => void leader?.kick() }),
        provider: () => leader?.provider('web'),
        healthTimeoutMs: config.cache.timeoutMs,
      })
    : undefined;
  // The embedded product is one process: it leads at once and serves with its pool ready. A
  // manager opens its port at once instead; its leader loop works in the background.
  if (config.role === 'all') await leader!.lead();
  else if (config.role !== 'scaler') await members.sync();

  // Nodes keep counters only; the leader reads them from every member and publishes, so a
  // cache node needs neither the database nor a metrics client.
  const publisher = leader
    ? createStatsPublisher({
        sink: metrics,
        sources: () => (leader.isLeading() ? pool.nodes().map((node) => ({ nodeId: node.id, stats: () => node.stats() })) : []),
        intervalMs: config.cache.statsIntervalMs,
        log,
      })
    : undefined;
  // The scaler only decides: it records desired sizes and does not wait for them to be applied.
  const scaler = runsScaler(config)
    ? createScalerLoop({
        db,
        pools: [
          cacheScaling({
            db,
            metrics,
            controller: config.role === 'all' ? requests : createPoolRequests({ db, pool: 'cache', bounds, waitMs: 0 }),
            minNodes,
            maxNodes,
            windowMs: scalerIntervalMs,
          }),
          ...(workers
            ? [
                webScaling({
                  db,
                  metrics,
                  controller: config.role === 'all' ? workers.requests : createPoolRequests({ db, pool: 'web', bounds: webBounds, waitMs: 0 }),
                  minWorkers: webBounds.min,
                  maxWorkers: webBounds.max,
                  cpuWindowMs: config.webPool.cpuWindowMs,
                }),
              ]
            : []),
        ],
        intervalMs: scalerIntervalMs,
        log,
      })
    : undefined;
  const images = createImageService({ db, blobs, cache: pool, log });
  let follower: NodeJS.Timeout | undefined;
  return {
    db,
    blobs,
    metrics,
    pool,
    members,
    requests,
    workers,
    leader,
    images,
    scaler,
    start() {
      publisher?.start();
      scaler?.start();
      leader?.start();
      if (config.role !== 'scaler') {
        follower = setInterval(
          notOverlapping(() => members.sync().catch((err) => log.warn({ err }, 'could not follow pool membership'))),
          syncIntervalMs,
        ).unref();
      }
    },
    async close() {
      clearInterval(follower);
      await scaler?.stop();
      await publisher?.stop();
      await leader?.close();
      await pool.close();
      await metrics.close();
      await blobs.close();
      await db.$disconnect();
    },
  };
}
