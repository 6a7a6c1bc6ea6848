import type { FastifyPluginAsync } from 'fastify';
import type { ConsoleConfig } from '../../config/config.js';
import { verifyPassword } from './admin-password.js';

const LOGIN_ATTEMPTS_PER_MINUTE = 5;

type LoginBody = { password?: string; next?: string; _csrf?: string };

/** Only same-site paths, so the login page cannot be used to redirect elsewhere. */
const safeNext = (next: string | undefined) => (next && /^\/(?![/\\])/.test(next) ? next : '/');

export function loginRoutes(config: ConsoleConfig): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { next?: string } }>('/login', async (request, reply) => {
      if (request.session.admin) return reply.redirect(safeNext(request.query.next));
      return reply.viewAsync('pages/login.hbs', {
        title: 'Log in',
        csrfToken: reply.generateCsrf(),
        next: safeNext(request.query.next),
      });
    });

    app.post<{ Body: LoginBody }>(
      '/login',
      {
        // The token travels in the form body, which is parsed only after onRequest.
        preHandler: app.csrfProtection,
        config: { rateLimit: { max: LOGIN_ATTEMPTS_PER_MINUTE, timeWindow: '1 minute' } },
        schema: { body: { type: 'object', properties: { password: { type: 'string' }, next: { type: 'string' } } } },
      },
      async (request, reply) => {
        const next = safeNext(request.body.next);
        if (!verifyPassword(request.body.password ?? '', config.passwordHash)) {
          request.log.warn('console login failed');
          reply.code(401);
          return reply.viewAsync('pages/login.hbs', { title: 'Log in', csrfToken: reply.generateCsrf(), next, error: 'Wrong password.' });
        }
        // A new session id at login, so an id planted before it is worthless afterwards.
        await request.session.regenerate();
        request.session.admin = true;
        request.log.info('console login');
        return reply.redirect(next);
      },
    );

    app.post('/logout', { preHandler: app.csrfProtection }, async (request, reply) => {
      await request.session.destroy();
      return reply.redirect('/login');
    });
  };
}
