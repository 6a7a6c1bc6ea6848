import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  InvalidTargetException,
  RegisterTargetsCommand,
  type TargetDescription,
  type TargetHealth,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';

export type FakeTargetGroupOptions = {
  /** HealthCheckIntervalSeconds (AWS's default for instance targets: 30). */
  intervalS?: number;
  /** HealthyThresholdCount (default 5) and UnhealthyThresholdCount (default 2). */
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  /** deregistration_delay.timeout_seconds (default 300). */
  deregistrationDelayS?: number;
  /** Whether the target's health check passes (GET /health answers 200); default: always. */
  passes?: (instanceId: string) => boolean;
  /** Whether the instance runs: RegisterTargets refuses one that does not (InvalidTarget); default: always. */
  runs?: (instanceId: string) => boolean;
};

type Registration = { port: number; registeredAt: number; deregisteredAt?: number };

export function elbError(name: string, status = 400): ElasticLoadBalancingV2ServiceException {
  return new ElasticLoadBalancingV2ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} (fake)` });
}

/**
 * An ALB target group in memory behind aws-sdk-client-mock, on the clock of Date.now() (tests move it
 * with node:test's mock timers), modelling what moto 5.2.1 does not
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
 * .../load-balancer-target-groups.html#deregistration-delay):
 * - a registered target is `initial` (Elb.RegistrationInProgress, then Elb.InitialHealthChecking) until
 *   the healthy threshold × interval has passed, then `healthy` — or, when its health check fails,
 *   `unhealthy` (Target.ResponseCodeMismatch) after the unhealthy threshold × interval;
 * - a deregistered target is `draining` (Target.DeregistrationInProgress) for the deregistration delay,
 *   or less once its in-flight requests are done (`idle`), then `unused` (Target.NotRegistered);
 * - any call can be made to fail first (`failNext`), e.g. with Throttling.
 */
export function fakeTargetGroup(options: FakeTargetGroupOptions = {}) {
  const { intervalS = 30, healthyThreshold = 5, unhealthyThreshold = 2, deregistrationDelayS = 300, passes = () => true, runs = () => true } = options;
  const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/emc-web/0123456789abcdef';
  const elb = new ElasticLoadBalancingV2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(elb);
  const targets = new Map<string, Registration>();
  /** Instances whose in-flight requests are done: their drain ends at once. */
  const idle = new Set<string>();
  const failures = new Map<string, Error[]>();
  const intervalMs = intervalS * 1000;

  function healthOf(id: string, now = Date.now()): TargetHealth {
    const t = targets.get(id);
    if (!t) return { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' };
    if (t.deregisteredAt !== undefined) {
      if (idle.has(id) || now >= t.deregisteredAt + deregistrationDelayS * 1000) {
        targets.delete(id);
        return healthOf(id, now);
      }
      return { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' };
    }
    const checks = Math.floor((now - t.registeredAt) / intervalMs);
    if (checks === 0) return { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' };
    if (passes(id)) return checks >= healthyThreshold ? { State: 'healthy' } : { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' };
    return checks >= unhealthyThreshold
      ? { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [502]' }
      : { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' };
  }

  const checkArn = (TargetGroupArn?: string) => {
    if (TargetGroupArn !== arn) throw elbError('TargetGroupNotFoundException');
  };
  type Input = { TargetGroupArn?: string; Targets?: TargetDescription[] };
  const handle = (command: string, act: (input: Input) => unknown) => async (input: Input) => {
    const error = failures.get(command)?.shift();
    if (error) throw error;
    checkArn(input.TargetGroupArn);
    return act(input);
  };

  mock.on(RegisterTargetsCommand).callsFake(
    handle('RegisterTargets', ({ Targets = [] }) => {
      for (const { Id = '', Port = 80 } of Targets) {
        if (!runs(Id)) throw new InvalidTargetException({ message: `The following targets are not in a running state and cannot be registered: '${Id}'`, $metadata: { httpStatusCode: 400 } });
        const t = targets.get(Id);
        // Registering a registered target changes nothing; registering a draining one makes it a new registration.
        if (!t || t.deregisteredAt !== undefined) targets.set(Id, { port: Port, registeredAt: Date.now() });
      }
      return {};
    }),
  );
  mock.on(DeregisterTargetsCommand).callsFake(
    handle('DeregisterTargets', ({ Targets = [] }) => {
      for (const { Id = '' } of Targets) {
        const t = targets.get(Id);
        if (t && t.deregisteredAt === undefined) t.deregisteredAt = Date.now();
      }
      return {};
    }),
  );
  mock.on(DescribeTargetHealthCommand).callsFake(
    handle('DescribeTargetHealth', ({ Targets }) => {
      const asked = Targets ?? [...targets.entries()].map(([Id, t]) => ({ Id, Port: t.port }));
      const described = asked.map(({ Id = '', Port }) => ({ Target: { Id, Port: Port ?? targets.get(Id)?.port }, TargetHealth: healthOf(Id) }));
      // Listing the group shows its registered and draining targets, never the unused ones.
      return { TargetHealthDescriptions: Targets ? described : described.filter((d) => d.TargetHealth.State !== 'unused') };
    }),
  );
  mock.on(DescribeTargetGroupAttributesCommand).callsFake(
    handle('DescribeTargetGroupAttributes', () => ({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(deregistrationDelayS) }] })),
  );

  return {
    arn,
    elb,
    mock,
    /** The state each instance's target is in now. */
    state: (instanceId: string) => healthOf(instanceId).State,
    /** The instance's in-flight requests are done: a drain ends at its next look. */
    idle: (instanceId: string) => idle.add(instanceId),
    failNext: (command: string, ...errors: Error[]) => failures.set(command, [...(failures.get(command) ?? []), ...errors]),
    calls: (command: string) => mock.calls().filter((c) => c.args[0].constructor.name === `${command}Command`).map((c) => c.args[0].input as Record<string, unknown>),
  };
}
