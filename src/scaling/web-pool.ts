import type { Db } from '../db/database.js';
import { probeHealth } from './http-probe.js';
import type { MemberProvider, ProvidedMember } from './member-provider.js';
import type { PoolRequests } from './pool-requests.js';

/** One web worker as the console and the API show it. */
export type WorkerView = ProvidedMember & {
  /** `leaving`: an operator stopped it and the leader is draining it. */
  state: 'active' | 'leaving';
  since: Date;
  /** Whether it answered a health check just now. */
  healthy: boolean;
};

type Deps = {
  db: Db;
  requests: PoolRequests;
  /** The web pool's provider while this process leads (it can ask a cluster worker itself). */
  provider: () => MemberProvider | undefined;
  healthTimeoutMs: number;
};

/** What the manager's pages and API need of the web pool: its requests, and its workers with their health. */
export function createWebPool({ db, requests, provider, healthTimeoutMs }: Deps) {
  async function healthOf(member: ProvidedMember): Promise<boolean> {
    const held = provider();
    return held?.health ? held.health(member) : probeHealth(`${member.address}/health`, healthTimeoutMs);
  }

  return {
    requests,
    bounds: requests.bounds,
    /** The recorded workers, oldest first, each with a health check made now. */
    async list(): Promise<WorkerView[]> {
      const rows = await db.poolNode.findMany({ where: { pool: 'web', state: 'active' }, orderBy: [{ since: 'asc' }, { id: 'asc' }] });
      return Promise.all(
        rows.map(async (r) => {
          const member = { id: r.id, instanceId: r.instanceId, address: r.address ?? '' };
          return { ...member, state: r.leaving ? 'leaving' : 'active', since: r.since, healthy: await healthOf(member) } as const;
        }),
      );
    },
  };
}

export type WebPool = ReturnType<typeof createWebPool>;
