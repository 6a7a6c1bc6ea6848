import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import { createInProcessProvider } from './inprocess-provider.js';
import type { NodeProvider } from './node-provider.js';
import { createProcessProvider } from './process-provider.js';
import { sharedCacheToken } from './shared-cache-token.js';
import type { WorkerProvider } from './worker-provider.js';

/**
 * The environment a cache child needs: nodes hold no database or metrics client, so only our
 * log level and the cache token. The token is a secret: it is passed, never logged.
 */
export function childEnvOf(config: Config, token: string | undefined): Record<string, string> {
  return { EMC_LOG_LEVEL: config.logLevel, ...(token === undefined ? {} : { EMC_CACHE_TOKEN: token }) };
}

/**
 * The token every cache node of the pool is started and called with. Nodes the product starts are
 * never open: without a configured one, `process` nodes get the fleet's generated token, which the
 * leader starts them with and every web host reads to call them. (EC2 nodes boot with the
 * configured one from their user-data.)
 */
export async function cacheTokenOf(config: Config, db: Db): Promise<string | undefined> {
  return config.cache.token ?? (config.pool.provider === 'process' ? await sharedCacheToken(db) : undefined);
}

/** `token`: from `cacheTokenOf`. */
export async function createProvider(config: Config, log: FastifyBaseLogger, token: string | undefined): Promise<NodeProvider> {
  switch (config.pool.provider) {
    case 'inprocess':
      return createInProcessProvider();
    case 'process':
      return createProcessProvider({
        childEnv: childEnvOf(config, token),
        log,
        timeoutMs: config.cache.timeoutMs,
        token,
        // A manager's nodes outlive it and are adopted by the next leader; the embedded product's die with it.
        survive: config.role === 'manager',
      });
    case 'ec2': {
      // The AWS SDK is loaded only where it is used: it costs ~90 MB and a second of start-up.
      const { createEc2Client } = await import('./ec2-instances.js');
      const { createEc2Provider } = await import('./ec2-provider.js');
      return createEc2Provider({
        ec2: createEc2Client(),
        poolTag: config.ec2.poolTag,
        address: config.ec2.address,
        nodePort: config.ports.cache,
        launchTemplate: config.ec2.launchTemplate,
        timeoutMs: config.cache.timeoutMs,
        token,
        log,
      });
    }
  }
}

/** The web pool's provider (config.webPool.kind is not `none`); made by the leader when it first leads. */
export async function createWorkerProvider(config: Config, log: FastifyBaseLogger): Promise<WorkerProvider> {
  switch (config.webPool.kind) {
    case 'cluster': {
      const { createClusterWorkerProvider } = await import('./cluster-worker-provider.js');
      return createClusterWorkerProvider({ host: config.host, port: config.ports.web, drainTimeoutMs: config.webPool.drainTimeoutMs, log });
    }
    case 'ec2': {
      const { targetGroupArn, launchTemplate } = config.webPool;
      // Configuration validation requires both with EMC_WEB_POOL=ec2.
      if (!targetGroupArn || !launchTemplate) throw new Error('EMC_WEB_POOL=ec2 needs EMC_ALB_TARGET_GROUP_ARN and EMC_EC2_WEB_LAUNCH_TEMPLATE');
      const { createEc2Client } = await import('./ec2-instances.js');
      const { createElbClient } = await import('./alb-target-group.js');
      const { createEc2WorkerProvider } = await import('./ec2-worker-provider.js');
      return createEc2WorkerProvider({
        ec2: createEc2Client(),
        elb: createElbClient(),
        poolTag: config.ec2.poolTag,
        address: config.ec2.address,
        webPort: config.ports.web,
        launchTemplate,
        targetGroupArn,
        log,
      });
    }
    case 'none':
      // `none` has no pool to run: the leader makes no web pool then.
      throw new Error('no web pool provider for EMC_WEB_POOL=none');
  }
}
