import type { EC2Client } from '@aws-sdk/client-ec2';
import { Mutex } from 'async-mutex';
import type { FastifyBaseLogger } from 'fastify';
import { httpNodeConnector } from './http-node-clients.js';
import { createEc2Pool, type PoolInstance } from './ec2-instances.js';
import { createSingleFlight } from '../images/single-flight.js';
import { liveMembers, waitUntilServing } from './ec2-readiness.js';
import { startWhenStopped, stopWhenStarted } from './ec2-transitions.js';
import { defaultSleep, reasonOf, type RetryOptions, type Sleep } from './ec2-retry.js';
import { probeHealth, type HealthCheck } from './http-probe.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';

export type Ec2ProviderOptions = {
  /** Owned from here on: close() destroys it. */
  ec2: EC2Client;
  /** The pool is the instances tagged emc:pool=<poolTag>. */
  poolTag: string;
  /** Which of an instance's IP addresses the web tier reaches it on. */
  address: 'private' | 'public';
  /** The port cache nodes listen on (EMC_CACHE_PORT in the AMI). */
  nodePort: number;
  /** Launched from when no stopped member is left. */
  launchTemplate?: string;
  /** Budget of one start, from claiming an instance until it answers its health check: booting included. */
  healthTimeoutMs?: number;
  pollMs?: number;
  /** Deadline of one call made by the clients `connect` returns. */
  timeoutMs?: number;
  /** EMC_CACHE_TOKEN, sent by the clients `connect` returns; the instances get it from their user-data. */
  token?: string | undefined;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  sleep?: Sleep;
  random?: () => number;
  retry?: Pick<RetryOptions, 'attempts' | 'baseMs' | 'maxMs'>;
  fetchHealth?: HealthCheck;
};

/**
 * Cache nodes on pre-created EC2 instances: grow starts a stopped member and tags it
 * emc:node=<id>, shrink stops it and removes the tag. The instances outlive this
 * process; closing the provider never stops them.
 */
export function createEc2Provider(options: Ec2ProviderOptions): NodeProvider {
  const { ec2, poolTag, address, nodePort, launchTemplate, healthTimeoutMs = 300_000, pollMs = 2000, timeoutMs, log } = options;
  const { sleep = defaultSleep, fetchHealth = probeHealth } = options;
  const abort = new AbortController();
  const onRetry = (err: unknown, attempt: number, waitMs: number) => log.warn({ err, attempt, waitMs }, 'EC2 call failed; retrying');
  const pool = createEc2Pool({ ec2, poolTag, retry: { ...options.retry, sleep, random: options.random, signal: abort.signal, onRetry } });
  const readiness = { pool, address, port: nodePort, pollMs, budgetMs: healthTimeoutMs, sleep, fetchHealth, signal: abort.signal };
  const claiming = new Mutex();
  // Instance id → node id, for instances this process started: EC2 may still describe one as stopped for a while.
  const claimed = new Map<string, string>();
  const starting = createSingleFlight<ProvidedNode>();
  let closed = false;

  /** The instance that will serve `id`, tagged for it; one claim at a time, so two starts never pick the same one. */
  function claim(id: string): Promise<{ instanceId: string; needsStart: boolean }> {
    return claiming.runExclusive(async () => {
      const [mine] = await pool.find({ states: ['pending', 'running', 'stopping', 'stopped'], memberId: id });
      if (mine) {
        claimed.set(mine.instanceId, id);
        return { instanceId: mine.instanceId, needsStart: mine.state === 'stopped' || mine.state === 'stopping' };
      }
      // A member still stopping (a shrink moments ago) is free too: starting it waits for the stop to end,
      // where launching instead would leave an instance nobody stops.
      const free = (await pool.find({ states: ['stopped', 'stopping'] })).filter((i) => !claimed.has(i.instanceId));
      // A leftover emc:node tag on a stopped instance names a node that is gone; untagged ones go first all the same.
      const rank = (i: PoolInstance) => (i.state === 'stopped' ? 0 : 2) + (i.memberId === undefined ? 0 : 1);
      const [pick] = free.sort((a, b) => rank(a) - rank(b));
      if (pick) {
        await pool.tag(pick.instanceId, id);
        claimed.set(pick.instanceId, id);
        return { instanceId: pick.instanceId, needsStart: true };
      }
      if (!launchTemplate) {
        throw new Error(`no stopped or stopping instance tagged emc:pool=${poolTag} is left to start; add instances to the pool or set EMC_EC2_LAUNCH_TEMPLATE`);
      }
      const instanceId = await pool.launch(launchTemplate, id);
      claimed.set(instanceId, id);
      log.info({ nodeId: id, instanceId, launchTemplate }, 'launched an EC2 instance for the pool');
      return { instanceId, needsStart: false };
    });
  }

  async function bringUp(id: string): Promise<ProvidedNode> {
    const deadline = Date.now() + healthTimeoutMs;
    const { instanceId, needsStart } = await claim(id).catch((err: unknown) => {
      throw new Error(`cache node ${id} not started: ${reasonOf(err)}`, { cause: err });
    });
    try {
      if (needsStart) await startWhenStopped(readiness, instanceId, deadline);
      const node = { id, instanceId, address: await waitUntilServing(readiness, instanceId, deadline) };
      log.info({ nodeId: id, instanceId, address: node.address }, 'cache node started');
      return node;
    } catch (err) {
      claimed.delete(instanceId);
      // On close the instance is left as it is: the fleet outlives this process, and the next manager reconciles.
      if (!closed) await release(id, instanceId).catch((e: unknown) => log.warn({ err: e, nodeId: id, instanceId }, 'could not release the instance'));
      throw new Error(`cache node ${id} (EC2 instance ${instanceId}) failed to start: ${closed ? 'the ec2 provider closed' : reasonOf(err)}`, { cause: err });
    }
  }

  async function release(id: string, instanceId: string): Promise<void> {
    await stopWhenStarted(readiness, instanceId, Date.now() + healthTimeoutMs);
    await pool.untag(instanceId, id);
  }

  return {
    kind: 'ec2',
    list: () => liveMembers(pool, address, nodePort),
    start(id) {
      if (closed) return Promise.reject(new Error(`cache node ${id} not started: the ec2 provider is closed`));
      return starting(id, () => bringUp(id));
    },
    async stop(id) {
      for (const [instanceId, nodeId] of claimed) if (nodeId === id) claimed.delete(instanceId);
      const found = await pool.find({ states: ['pending', 'running', 'stopping', 'stopped'], memberId: id });
      for (const { instanceId, state } of found) {
        if (state !== 'stopped' && state !== 'stopping') await stopWhenStarted(readiness, instanceId, Date.now() + healthTimeoutMs);
        await pool.untag(instanceId, id);
        log.info({ nodeId: id, instanceId }, 'cache node stopped');
      }
    },
    connect: httpNodeConnector({ timeoutMs, token: options.token }),
    async close() {
      closed = true;
      abort.abort();
      await starting.settled();
      ec2.destroy();
    },
  };
}
