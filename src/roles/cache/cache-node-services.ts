import type { FastifyBaseLogger } from 'fastify';
import { createCacheStore, type CacheStore } from '../../cache/cache-store.js';
import { loadSharedCacheConfig } from '../../cache/shared-cache-config.js';
import type { Config } from '../../config/config.js';
import { createDb } from '../../db/database.js';
import { migrate } from '../../db/migrate.js';
import { createMetricsSink } from '../../metrics/create-metrics-sink.js';
import { createStatsPublisher } from '../../metrics/stats-publisher.js';
import { readInstanceId, readInstanceMetadata } from '../../scaling/instance-metadata.js';

const NODE_ID = /^[\w.:-]{1,64}$/;

/**
 * The id this node publishes its statistics under. On EC2 the provider tags the
 * instance emc:node=<pool node id> before starting it, so the node names itself
 * like its pool membership; the instance id is the fallback. Off EC2 nothing is
 * asked of the metadata service.
 */
async function resolveNodeId(config: Config): Promise<string> {
  if (config.cache.nodeId) return config.cache.nodeId;
  if (config.pool.provider === 'ec2') {
    const tagged = await readInstanceMetadata('tags/instance/emc:node');
    if (tagged && NODE_ID.test(tagged)) return tagged;
    const instanceId = await readInstanceId();
    if (instanceId) return instanceId;
  }
  return config.cache.defaultNodeId;
}

/** What a cache-role process runs on: its store, configured from the database before it serves. */
export type CacheNodeServices = { nodeId: string; store: CacheStore; start(): void; close(): Promise<void> };

export async function createCacheNodeServices(config: Config, log: FastifyBaseLogger): Promise<CacheNodeServices> {
  await migrate(config.database);
  const db = createDb(config.database);
  const cacheConfig = await loadSharedCacheConfig(db);
  const store = createCacheStore(cacheConfig);
  const nodeId = await resolveNodeId(config);
  log.info({ nodeId, ...cacheConfig }, 'cache node configured');
  const metrics = await createMetricsSink(config.metrics, { db, log });
  const publisher = createStatsPublisher({
    sink: metrics,
    sources: () => [{ nodeId, stats: () => store.stats() }],
    intervalMs: config.cache.statsIntervalMs,
    log,
  });
  return {
    nodeId,
    store,
    start: () => publisher.start(),
    async close() {
      await publisher.stop();
      await metrics.close();
      await db.$disconnect();
    },
  };
}
