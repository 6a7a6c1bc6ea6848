import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { cachePage } from './cache-page.js';
import { dangerZone } from './danger-zone.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { poolPage } from './pool-page.js';
import { workersPage } from './workers-page.js';

/** The console's pages behind the login; each area is its own plugin. */
export function consolePages(config: Config, shutdown: (() => void) | undefined): FastifyPluginAsync {
  return async (app) => {
    await app.register(dashboardRoutes({ webPool: config.webPool.kind !== 'none' }));
    await app.register(cachePage);
    await app.register(poolPage(config));
    await app.register(workersPage);
    await app.register(dangerZone(config, shutdown));
  };
}
