import { objectFiles, type TestApp } from './app.js';

/** Everything a refused request must leave as it was: rows, objects, cache configuration, the pool. */
export async function stored({ app, config }: TestApp) {
  const { db, pool } = app.services;
  const keys = (await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys as string[];
  const keep = (await app.inject({ method: 'POST', url: '/api/key/keep' })).json().content as string | undefined;
  return {
    keys,
    keep,
    images: await db.image.findMany({ orderBy: { key: 'asc' } }),
    objects: await objectFiles(config),
    cacheConfig: await db.cacheConfig.findMany(),
    scalerPolicy: await db.scalerPolicy.findMany(),
    poolNodes: await db.poolNode.findMany({ orderBy: { id: 'asc' } }),
    poolVersion: (await db.poolState.findMany()).map((s) => s.version),
    scalingEvents: await db.scalingEvent.count(),
    nodes: (await pool.status()).map((s) => ({ id: s.id, capacityBytes: s.stats?.capacityBytes, policy: s.stats?.policy, items: s.stats?.items })),
  };
}
