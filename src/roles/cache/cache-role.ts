import type { FastifyPluginAsync } from 'fastify';
import type { CacheStore } from '../../cache/cache-store.js';
import { healthRoute } from '../health-route.js';
import { cacheAdminRoutes } from './cache-admin-routes.js';
import { cacheMigrationRoutes } from './cache-migration-routes.js';
import { cacheRoutes } from './cache-routes.js';
import { requireCacheToken } from './cache-token.js';

export type CacheRoleOptions = {
  /** EMC_CACHE_TOKEN: when set, every route but GET /health needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
};

const SERVES = [
  'GET /health',
  'GET /cache/<key>',
  'GET /peek/<key>',
  'PUT /cache/<key>',
  'DELETE /cache/<key>',
  'DELETE /cache',
  'PUT /config',
  'GET /stats',
  'GET /keys',
  'POST /export',
  'POST /import',
  'POST /remove',
];

/**
 * One cache node's internal API over `store`, spoken by the pool's HTTP cache node.
 * Keys are percent-encoded path suffixes; values travel as raw bytes with their
 * metadata in headers. The pool's manager sends the configuration (PUT /config)
 * and reads the statistics (GET /stats); the node itself talks to nothing.
 */
export function cacheRole(store: CacheStore, { token }: CacheRoleOptions = {}): FastifyPluginAsync {
  const checkToken = requireCacheToken(token);
  return async (app) => {
    if (checkToken) app.addHook('onRequest', checkToken);
    await app.register(healthRoute);
    app.get(
      '/',
      {
        schema: {
          response: {
            200: { type: 'object', properties: { role: { type: 'string' }, serves: { type: 'array', items: { type: 'string' } } } },
          },
        },
      },
      async () => ({ role: 'cache', serves: SERVES }),
    );
    await app.register(cacheRoutes(store));
    await app.register(cacheAdminRoutes(store));
    await app.register(cacheMigrationRoutes(store));
  };
}
