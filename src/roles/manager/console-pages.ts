import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';

/** The console's pages behind the login; each area is its own plugin. */
export function consolePages(_config: Config): FastifyPluginAsync {
  return async (app) => {
    app.get('/dashboard', async (_request, reply) => reply.viewAsync('pages/manager-pending.hbs', { title: 'Dashboard', nav: { dashboard: true } }));
  };
}
