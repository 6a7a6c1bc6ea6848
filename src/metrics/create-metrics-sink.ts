import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import { createDbMetricsSink } from './db-metrics-sink.js';
import type { MetricsSink } from './metrics-sink.js';

/** The sink the configuration names. */
export async function createMetricsSink(
  config: Config['metrics'],
  { db, log }: { db: Db; log: Pick<FastifyBaseLogger, 'warn'> },
): Promise<MetricsSink> {
  if (config.kind === 'db') return createDbMetricsSink({ db, log });
  // Loaded only when configured: the AWS SDK is heavy for processes that never use it.
  const { createCloudWatchClient, createCloudWatchSink } = await import('./cloudwatch-sink.js');
  const cloudwatch = createCloudWatchClient();
  const sink = createCloudWatchSink({
    cloudwatch,
    namespace: config.namespace,
    workers: async () =>
      (await db.poolNode.findMany({ where: { pool: 'web' }, select: { id: true, instanceId: true } })).map(({ id, instanceId }) => ({ workerId: id, instanceId })),
  });
  // The sink leaves its client to whoever made it, which is this function.
  return {
    ...sink,
    async close() {
      await sink.close();
      cloudwatch.destroy();
    },
  };
}
