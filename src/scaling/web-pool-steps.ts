import type { MemberProvider } from './member-provider.js';
import { probeHealth } from './http-probe.js';
import type { PoolSteps } from './pool-convergence.js';

/**
 * The web pool's steps: a worker serves once its provider says so (it takes traffic), and a
 * membership change needs nothing more: the load balancer (cluster, ALB) routes, and a worker
 * holds no data to move.
 */
export function webPoolSteps(provider: MemberProvider, timeoutMs: number): PoolSteps {
  return {
    start: (id) => provider.start(id),
    probe: (member) => (provider.health ? provider.health(member) : probeHealth(`${member.address}/health`, timeoutMs)),
  };
}
