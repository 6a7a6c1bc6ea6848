import type { Config } from '../../config/config.js';
import { loadScalerPolicy, saveScalerPolicy } from '../../scaling/scaler-policy-store.js';
import type { ResizeRequest } from '../../scaling/pool-controller.js';
import { countOf, type PoolName } from '../../scaling/pool-name.js';
import { createPoolRequests } from '../../scaling/pool-requests.js';
import { loadWorkerPolicy, saveWorkerPolicy } from '../../scaling/worker-policy-store.js';
import type { Services } from '../../services.js';

export type StoppedEverything = { workers: number; nodes: number; message: string };

/**
 * The danger zone's "stop everything": both pools to manual mode, then to 0 members, each
 * waited for until the leader has applied it. The one place a pool goes below its minimum:
 * these requests are bounded by 0, the ones every other form and the API use by the minimum.
 */
export function createStopEverything(config: Config, { db, leader, members }: Services) {
  const toZero = (pool: PoolName, max: number) =>
    createPoolRequests({
      db,
      pool,
      bounds: { min: 0, max },
      waitMs: config.pool.resizeWaitMs,
      written: () => void leader?.kick(),
      applied: () => members.sync(),
    });
  const web = config.webPool.kind === 'none' ? undefined : toZero('web', config.webPool.maxWorkers);
  const cache = toZero('cache', config.pool.maxNodes);

  return async (request: ResizeRequest): Promise<StoppedEverything> => {
    // Manual first, so no scaler grows a pool again behind our back.
    const [cachePolicy, workerPolicy] = await Promise.all([loadScalerPolicy(db), loadWorkerPolicy(db)]);
    if (cachePolicy.mode !== 'manual') await saveScalerPolicy(db, { ...cachePolicy, mode: 'manual' });
    if (workerPolicy.mode !== 'manual') await saveWorkerPolicy(db, { ...workerPolicy, mode: 'manual' });
    // The workers go first, so no request is being served from a cache node that is going away.
    const workers = web ? (await web.resize(0, request)).from : 0;
    const nodes = (await cache.resize(0, request)).from;
    const what = web ? `${countOf('web', workers)} and ${countOf('cache', nodes)}` : `${countOf('cache', nodes)} (there is no web pool)`;
    return { workers, nodes, message: `stopped ${what}; both pools are at 0 in manual mode` };
  };
}
