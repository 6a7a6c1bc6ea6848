import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { testApi } from '../../api/test-api.js';
import { healthRoute } from '../health-route.js';

/**
 * The operator's role. The console itself (login, charts, pool control) is a
 * later milestone; today this listener serves the JSON test API and says so.
 */
export function managerRole(config: Config): FastifyPluginAsync {
  return async (app) => {
    await app.register(healthRoute);
    app.get('/', async (_request, reply) => reply.viewAsync('pages/manager-pending.hbs', { title: 'Manager' }));
    await app.register(testApi(config), { prefix: '/api' });
  };
}
