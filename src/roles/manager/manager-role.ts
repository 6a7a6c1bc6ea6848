import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { testApi } from '../../api/test-api.js';
import { healthRoute } from '../health-route.js';
import { consolePages } from './console-pages.js';
import { consoleSession } from './console-session.js';
import { loginRoutes } from './login-routes.js';
import { requireLogin, takeFlash } from './require-login.js';

/** The operator's role: the login-protected console, and the JSON test API. `shutdown`: see BuildOptions. */
export function managerRole(config: Config, shutdown?: () => void): FastifyPluginAsync {
  const consoleConfig = config.console;
  if (!consoleConfig) throw new Error('the manager role needs the console configuration');
  return async (app) => {
    await app.register(healthRoute);
    await app.register(testApi(config), { prefix: '/api' });

    await app.register(async (ui) => {
      // Helmet's headers and the strict CSP (no inline script) are registered for the whole
      // listener, API included, by the app (src/http/security-headers.ts).
      await ui.register(fastifyRateLimit, {
        global: false,
        errorResponseBuilder: (_request, context) => ({
          statusCode: 429,
          message: `too many login attempts; try again in ${Math.ceil(context.ttl / 1000)} s`,
        }),
      });
      await ui.register(consoleSession, { config: consoleConfig });
      await ui.register(loginRoutes(consoleConfig));

      await ui.register(async (admin) => {
        admin.addHook('onRequest', requireLogin);
        // Every state-changing form carries the session's CSRF token (in the body, parsed by now).
        admin.addHook('preHandler', (request, reply, done) => {
          if (request.method === 'GET' || request.method === 'HEAD') return done();
          admin.csrfProtection(request, reply, done);
        });
        admin.addHook('preHandler', async (request, reply) => {
          reply.locals = { ...reply.locals, csrfToken: reply.generateCsrf(), loggedIn: true, flash: takeFlash(request.session) };
        });
        admin.get('/', async (_request, reply) => reply.redirect('/dashboard'));
        await admin.register(consolePages(config, shutdown));
      });
    });
  };
}
