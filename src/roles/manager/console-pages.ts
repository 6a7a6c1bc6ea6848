import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { dashboardRoutes } from './dashboard-routes.js';

/** The console's pages behind the login; each area is its own plugin. */
export function consolePages(_config: Config): FastifyPluginAsync {
  return async (app) => {
    await app.register(dashboardRoutes);
  };
}
