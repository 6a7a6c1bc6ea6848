import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  InvalidTargetException,
  RegisterTargetsCommand,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { defaultSleep, withRetry, type RetryOptions, type Sleep } from './ec2-retry.js';

/** One registration: an instance and the port the load balancer sends it requests on. */
export type Target = { instanceId: string; port: number };

export type TargetHealth = {
  /** initial, healthy, unhealthy, unhealthy.draining, draining, unused or unavailable (AWS's TargetHealthStateEnum). */
  state: TargetHealthStateEnum;
  /** Why it is not healthy, e.g. Target.ResponseCodeMismatch, Target.NotRegistered, Target.DeregistrationInProgress. */
  reason: string | undefined;
  description: string | undefined;
};

/** A target that will not serve (it failed its health checks until the deadline, or left the group) or would not drain in time. */
export class TargetGroupError extends Error {
  constructor(
    readonly kind: 'not-healthy' | 'not-registered' | 'not-drained',
    message: string,
  ) {
    super(message);
    this.name = 'TargetGroupError';
  }
}

export type TargetGroupOptions = {
  elb: ElasticLoadBalancingV2Client;
  targetGroupArn: string;
  /** Between two DescribeTargetHealth calls while waiting. */
  pollMs?: number;
  sleep?: Sleep;
  /** Every call goes through withRetry with these (throttling and server faults are retried). */
  retry?: RetryOptions;
  /** Aborted when the owner closes: waits end at once. */
  signal?: AbortSignal;
};

export interface TargetGroup {
  readonly arn: string;
  register(target: Target): Promise<void>;
  /** Starts draining; deregistering a target that is not registered is not an error. */
  deregister(target: Target): Promise<void>;
  health(target: Target): Promise<TargetHealth>;
  /** The registered targets (draining ones included) with their health. */
  targets(): Promise<Array<Target & { health: TargetHealth }>>;
  /** The group's deregistration delay (deregistration_delay.timeout_seconds): how long a target drains at most. */
  deregistrationDelayMs(): Promise<number>;
  /** Resolves once the load balancer routes to the target (healthy), within `timeoutMs`. */
  waitHealthy(target: Target, timeoutMs: number): Promise<void>;
  /** Resolves once a deregistered target has drained (unused, or gone with its instance), within `timeoutMs`. */
  waitDrained(target: Target, timeoutMs: number): Promise<void>;
}

/** A client on the SDK's default chain (instance role, AWS_REGION), like the EC2 one. */
export function createElbClient(): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({});
}

const shown = ({ state, reason, description }: TargetHealth) => `${state}${reason ? ` (${reason}${description ? `: ${description}` : ''})` : ''}`;

/** An Application Load Balancer target group of instance targets, as the EC2 worker provider uses it. */
export function createTargetGroup({ elb, targetGroupArn, pollMs = 5000, sleep = defaultSleep, retry = {}, signal }: TargetGroupOptions): TargetGroup {
  const call = <T>(operation: () => Promise<T>) => withRetry(operation, { sleep, signal, ...retry });
  const targetOf = ({ instanceId, port }: Target) => ({ Id: instanceId, Port: port });
  let delayMs: Promise<number> | undefined;

  async function health(target: Target): Promise<TargetHealth> {
    try {
      const answer = await call(() => elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn, Targets: [targetOf(target)] })));
      const found = answer.TargetHealthDescriptions?.[0]?.TargetHealth;
      return { state: found?.State ?? 'unused', reason: found?.Reason, description: found?.Description };
    } catch (error) {
      // An instance that no longer exists (terminated a while ago) is no target of this group any more.
      if (error instanceof InvalidTargetException) return { state: 'unused', reason: 'Target.NotRegistered', description: error.message };
      throw error;
    }
  }

  /** Polls `target`'s health until `done` says so; `fail` ends the wait early with its message. */
  async function waitFor(target: Target, timeoutMs: number, what: string, done: (h: TargetHealth) => boolean, fail: (h: TargetHealth) => TargetGroupError | undefined, late: TargetGroupError['kind']) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await health(target);
      if (done(now)) return;
      const failure = fail(now);
      if (failure) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TargetGroupError(late, `target ${target.instanceId}:${target.port} was not ${what} within ${timeoutMs} ms (last: ${shown(now)})`);
      }
      await sleep(Math.min(pollMs, left), signal);
    }
  }

  return {
    arn: targetGroupArn,
    async register(target) {
      await call(() => elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [targetOf(target)] })));
    },
    async deregister(target) {
      try {
        await call(() => elb.send(new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [targetOf(target)] })));
      } catch (error) {
        // AWS answers InvalidTarget for an instance it no longer knows (moto also for one never registered): nothing to drain.
        if (!(error instanceof InvalidTargetException)) throw error;
      }
    },
    health,
    async targets() {
      const answer = await call(() => elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })));
      return (answer.TargetHealthDescriptions ?? []).map((d) => ({
        instanceId: d.Target?.Id ?? '',
        port: d.Target?.Port ?? 0,
        health: { state: d.TargetHealth?.State ?? 'unused', reason: d.TargetHealth?.Reason, description: d.TargetHealth?.Description },
      }));
    },
    deregistrationDelayMs() {
      delayMs ??= call(() => elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn }))).then(
        (answer) => Number(answer.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value ?? 300) * 1000,
        (error: unknown) => {
          delayMs = undefined;
          throw error;
        },
      );
      return delayMs;
    },
    waitHealthy(target, timeoutMs) {
      return waitFor(
        target,
        timeoutMs,
        'healthy',
        (h) => h.state === 'healthy',
        // initial, unhealthy and unavailable may still turn healthy; a target being deregistered, or whose instance stopped
        // (unused, Target.InvalidState), will not. Unused with Target.NotRegistered is waited out: the ELB API is eventually
        // consistent, and a registration moments ago may not show yet.
        (h) =>
          h.state === 'draining' || h.state === 'unhealthy.draining' || (h.state === 'unused' && h.reason === 'Target.InvalidState')
            ? new TargetGroupError('not-registered', `target ${target.instanceId}:${target.port} left the target group while starting: ${shown(h)}`)
            : undefined,
        'not-healthy',
      );
    },
    waitDrained(target, timeoutMs) {
      return waitFor(target, timeoutMs, 'drained', (h) => h.state === 'unused', () => undefined, 'not-drained');
    },
  };
}
