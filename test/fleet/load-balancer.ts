// The Application Load Balancer's data plane, which moto does not emulate (its target group only
// records registrations: healthy at once on registration, unused at once on deregistration):
// requests go to the targets registered in moto's target group, each only once it answered its
// own health check (GET /health, as the ALB checks it), never to one deregistered. A real ALB
// keeps a deregistered target draining until its in-flight requests end and only then reports
// it unused, which the EC2 worker provider waits for before terminating; moto reports it unused
// at once, so the instance agent calls refresh() before it shuts down a terminated worker: the
// balancer has stopped sending it requests by then, and the worker's own SIGTERM handling
// finishes the ones in flight.
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';

export type LoadBalancer = {
  /** Where requests are sent now: the origins of the healthy targets. */
  origins(): string[];
  /** Reads the target group's registrations now. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
};

export type LoadBalancerOptions = {
  elb: ElasticLoadBalancingV2Client;
  targetGroupArn: string;
  /** An instance's private IP (the instance agent knows it once it booted the worker). */
  addressOf(instanceId: string): string | undefined;
  pollMs?: number;
};

async function answers(origin: string): Promise<boolean> {
  try {
    return (await fetch(`${origin}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

export function startLoadBalancer({ elb, targetGroupArn, addressOf, pollMs = 200 }: LoadBalancerOptions): LoadBalancer {
  let routed: string[] = [];
  /** Targets that passed their health check once: a registered target is checked until it does. */
  const healthy = new Set<string>();
  let running = true;
  let refreshing: Promise<void> | undefined;

  async function read(): Promise<void> {
    const answer = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }), { abortSignal: AbortSignal.timeout(5000) });
    const registered = (answer.TargetHealthDescriptions ?? []).flatMap((d) => {
      const ip = d.TargetHealth?.State === 'healthy' && d.Target?.Id ? addressOf(d.Target.Id) : undefined;
      return ip ? [`http://${ip}:${d.Target!.Port}`] : [];
    });
    // Deregistered ones leave the routes before any new target is health-checked.
    routed = routed.filter((o) => registered.includes(o));
    for (const origin of [...healthy]) if (!registered.includes(origin)) healthy.delete(origin);
    const unchecked = registered.filter((o) => !healthy.has(o));
    for (const [i, ok] of (await Promise.all(unchecked.map(answers))).entries()) if (ok) healthy.add(unchecked[i]!);
    // A deregistration made while the checks ran is seen at the next read; the routes keep their order.
    routed = registered.filter((o) => healthy.has(o));
  }

  const refresh = () => (refreshing ??= read().finally(() => (refreshing = undefined)));

  const loop = (async () => {
    while (running) {
      await refresh().catch(() => undefined);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();

  return {
    origins: () => routed,
    async refresh() {
      // One in flight may have read the group before the caller's question: a fresh read follows it.
      await refreshing?.catch(() => undefined);
      await refresh();
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
