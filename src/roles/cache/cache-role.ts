import type { FastifyPluginAsync } from 'fastify';
import { healthRoute } from '../health-route.js';

/** One cache node's internal API. Only health exists until the cache tier lands. */
export function cacheRole(): FastifyPluginAsync {
  return async (app) => {
    await app.register(healthRoute);
    app.get('/', async () => ({
      role: 'cache',
      serves: ['GET /health'],
      note: 'the cache node API (get/put/invalidate/stats) is not built yet',
    }));
  };
}
