import type { FastifyPluginAsync } from 'fastify';
import type { CacheStore } from '../../cache/cache-store.js';
import type { CacheConfig } from '../../cache/cache-types.js';
import { BadRequestError } from '../../http/app-error.js';
import { CacheConfigBodySchema, CacheStatsSchema, KeyListSchema } from './cache-schemas.js';

/** The node as a whole: its configuration, statistics and resident keys. */
export function cacheAdminRoutes(store: CacheStore): FastifyPluginAsync {
  return async (app) => {
    app.put<{ Body: CacheConfig }>(
      '/config',
      { schema: { body: CacheConfigBodySchema, response: { 200: CacheConfigBodySchema } } },
      async (request) => {
        try {
          store.reconfigure(request.body);
        } catch (error) {
          if (error instanceof RangeError) throw new BadRequestError(error.message);
          throw error;
        }
        return store.config();
      },
    );

    app.get('/stats', { schema: { response: { 200: CacheStatsSchema } } }, async () => store.stats());

    app.get('/keys', { schema: { response: { 200: KeyListSchema } } }, async () =>
      store.exportEntries().map(({ key }) => key),
    );
  };
}
