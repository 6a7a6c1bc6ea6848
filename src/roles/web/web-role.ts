import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { testApi } from '../../api/test-api.js';
import { healthRoute } from '../health-route.js';
import { imageRoute } from './image-route.js';
import { pages } from './pages.js';

/** The user-facing role: pages, the image bytes, and the JSON test API. */
export function webRole(config: Config): FastifyPluginAsync {
  return async (app) => {
    await app.register(healthRoute);
    await app.register(pages(config));
    await app.register(imageRoute);
    await app.register(testApi(config), { prefix: '/api' });
  };
}
