import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { FastifyBaseLogger } from 'fastify';
import { createTargetGroup, TargetGroupError, type Target } from './alb-target-group.js';
import { createEc2Pool, WEB_POOL_TAGS } from './ec2-instances.js';
import { createSingleFlight } from '../images/single-flight.js';
import { liveMembers, waitUntilServing } from './ec2-readiness.js';
import { defaultSleep, reasonOf, type RetryOptions, type Sleep } from './ec2-retry.js';
import { probeHealth, type HealthCheck } from './http-probe.js';
import type { ProvidedMember } from './member-provider.js';
import type { WorkerProvider } from './worker-provider.js';

export type Ec2WorkerProviderOptions = {
  /** Owned from here on, like `elb`: close() destroys them. */
  ec2: EC2Client;
  elb: ElasticLoadBalancingV2Client;
  /** The web pool is the instances tagged emc:web-pool=<poolTag> (the deployment's EMC_EC2_POOL_TAG). */
  poolTag: string;
  /** Which of an instance's IP addresses the leader reaches the worker on (its /health). */
  address: 'private' | 'public';
  /** The port web workers listen on (EMC_WEB_PORT in their user-data), registered as the target's port. */
  webPort: number;
  /** Every worker is launched from it (EMC_EC2_WEB_LAUNCH_TEMPLATE). */
  launchTemplate: string;
  /** The ALB target group workers take traffic through (EMC_ALB_TARGET_GROUP_ARN). */
  targetGroupArn: string;
  /**
   * Budget of one start, from the launch until the target is healthy: booting, the app's start and
   * the health check's healthy threshold × interval.
   */
  startTimeoutMs?: number;
  /** How long a drain may outlast the target group's deregistration delay before the instance is terminated anyway. */
  drainMarginMs?: number;
  pollMs?: number;
  /** GET <worker>/health from this process, as the leader's health pass asks it. */
  fetchHealth?: HealthCheck;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  sleep?: Sleep;
  random?: () => number;
  retry?: Pick<RetryOptions, 'attempts' | 'baseMs' | 'maxMs'>;
};

/**
 * Web workers as EC2 instances behind an Application Load Balancer: start launches an instance
 * from the web template tagged emc:worker=<id>, registers it in the target group once it runs and
 * answers GET /health from here (the leader), and resolves once the target is healthy (only then does the load balancer send it requests); stop
 * deregisters it, waits for the deregistration delay to drain it and terminates it. Unlike cache
 * instances, workers hold nothing worth keeping, so they are launched and terminated, never stopped.
 * Instances outlive this process; closing the provider never terminates them.
 */
export function createEc2WorkerProvider(options: Ec2WorkerProviderOptions): WorkerProvider {
  const { ec2, elb, poolTag, address, webPort, launchTemplate, targetGroupArn, startTimeoutMs = 600_000, drainMarginMs = 60_000, pollMs = 5000, log } = options;
  const { sleep = defaultSleep, fetchHealth = probeHealth } = options;
  const abort = new AbortController();
  const onRetry = (err: unknown, attempt: number, waitMs: number) => log.warn({ err, attempt, waitMs }, 'AWS call failed; retrying');
  const retry = { ...options.retry, sleep, random: options.random, signal: abort.signal, onRetry };
  const pool = createEc2Pool({ ec2, poolTag, tags: WEB_POOL_TAGS, retry });
  const group = createTargetGroup({ elb, targetGroupArn, pollMs, sleep, retry, signal: abort.signal });
  const readiness = { pool, address, port: webPort, pollMs, budgetMs: startTimeoutMs, sleep, fetchHealth, signal: abort.signal };
  const starting = createSingleFlight<ProvidedMember>();
  let closed = false;

  /** The worker's instance: one a previous start (of this leader or the one before) launched, or a new one. */
  async function instanceFor(id: string): Promise<string> {
    const [mine] = await pool.find({ states: ['pending', 'running'], memberId: id });
    if (mine) return mine.instanceId;
    const instanceId = await pool.launch(launchTemplate, id);
    log.info({ workerId: id, instanceId, launchTemplate }, 'launched an EC2 instance for the web pool');
    return instanceId;
  }

  async function bringUp(id: string): Promise<ProvidedMember> {
    const deadline = Date.now() + startTimeoutMs;
    const instanceId = await instanceFor(id).catch((err: unknown) => {
      throw new Error(`web worker ${id} not started: ${reasonOf(err)}`, { cause: err });
    });
    const target = { instanceId, port: webPort };
    try {
      // Registered only once it answers the leader's own health check: the load balancer refuses a target that is not
      // running yet (InvalidTarget), and a worker the leader cannot reach (a security group without the manager) would
      // pass the load balancer's checks and then be dropped by the leader's health pass and replaced, again and again.
      const origin = await waitUntilServing(readiness, instanceId, deadline);
      await group.register(target);
      await group.waitHealthy(target, Math.max(0, deadline - Date.now()));
      log.info({ workerId: id, instanceId, address: origin }, 'web worker takes traffic');
      return { id, instanceId, address: origin };
    } catch (err) {
      // On close the instance is left as it is: the fleet outlives this process, and the next leader reconciles.
      if (closed) throw new Error(`web worker ${id} (EC2 instance ${instanceId}) not started: the ec2 worker provider closed`, { cause: err });
      // A worker that never became healthy never took traffic: it is terminated without waiting for a drain.
      await retire(id, target, false).catch((e: unknown) => log.error({ err: e, workerId: id, instanceId }, 'could not terminate the failed web worker'));
      throw new Error(`web worker ${id} (EC2 instance ${instanceId}) failed to start and was terminated: ${reasonOf(err)}`, { cause: err });
    }
  }

  /** Out of the target group (drained first when `drain`), then terminated. */
  async function retire(id: string, target: Target, drain: boolean): Promise<void> {
    await group.deregister(target);
    if (drain) {
      const budgetMs = (await group.deregistrationDelayMs()) + drainMarginMs;
      try {
        await group.waitDrained(target, budgetMs);
      } catch (err) {
        // The load balancer ends a drain by itself after the delay; one that seems to last longer must not keep the instance forever.
        if (!(err instanceof TargetGroupError)) throw err;
        log.warn({ err, workerId: id, instanceId: target.instanceId }, 'the target did not show as drained; terminating the worker anyway');
      }
    }
    await pool.terminate(target.instanceId);
    log.info({ workerId: id, instanceId: target.instanceId, drained: drain }, 'web worker stopped');
  }

  return {
    kind: 'ec2',
    list: () => liveMembers(pool, address, webPort),
    start(id) {
      if (closed) return Promise.reject(new Error(`web worker ${id} not started: the ec2 worker provider is closed`));
      return starting(id, () => bringUp(id));
    },
    async stop(id) {
      // A start in flight ends first: a registration made after the deregistration below would outlive the stop.
      await starting.running(id)?.catch(() => undefined);
      const found = await pool.find({ states: ['pending', 'running', 'stopping', 'stopped'], memberId: id });
      for (const { instanceId, state } of found) await retire(id, { instanceId, port: webPort }, state === 'running');
    },
    async close() {
      closed = true;
      abort.abort();
      await starting.settled();
      ec2.destroy();
      elb.destroy();
    },
  };
}
