import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../http/app-error.js';
import type { ConsoleConfig } from '../../config/config.js';
import { verifyPassword } from './admin-password.js';

const LOGIN_ATTEMPTS_PER_MINUTE = 5;

type LoginBody = { password?: string; next?: string; _csrf?: string };

/**
 * Only paths on this console, so the login page cannot be used to redirect elsewhere. Browsers
 * drop tabs and newlines from a Location (`/\t/evil` becomes `//evil`), treat `\` as `/`, and
 * Node refuses control characters in a header: printable ASCII without `\` only (a request
 * URL is percent-encoded, so every real console path qualifies).
 */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[\x21-\x5b\x5d-\x7e]*$/.test(next) ? next : '/';
}

/**
 * The login form's CSRF token is a double-submit cookie, not a session: a session exists only
 * once a login succeeds, so anonymous visits store nothing anywhere.
 */
const LOGIN_COOKIE = 'emc.login';

function sameToken(cookie: string | undefined, field: string | undefined): boolean {
  if (!cookie || !field || cookie.length !== field.length) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(field));
}

export function loginRoutes(config: ConsoleConfig): FastifyPluginAsync {
  return async (app) => {
    const loginForm = (request: FastifyRequest, reply: FastifyReply, view: Record<string, unknown>) => {
      const token = request.cookies[LOGIN_COOKIE] ?? randomBytes(24).toString('base64url');
      reply.setCookie(LOGIN_COOKIE, token, { path: '/login', httpOnly: true, sameSite: 'strict', secure: config.trustProxy });
      return reply.viewAsync('pages/login.hbs', { title: 'Log in', csrfToken: token, ...view });
    };

    app.get<{ Querystring: { next?: string } }>('/login', async (request, reply) => {
      if (request.session.admin) return reply.redirect(safeNext(request.query.next));
      return loginForm(request, reply, { next: safeNext(request.query.next) });
    });

    app.post<{ Body: LoginBody }>(
      '/login',
      {
        config: { rateLimit: { max: LOGIN_ATTEMPTS_PER_MINUTE, timeWindow: '1 minute' } },
        schema: { body: { type: 'object', properties: { password: { type: 'string' }, next: { type: 'string' }, _csrf: { type: 'string' } } } },
      },
      async (request, reply) => {
        if (!sameToken(request.cookies[LOGIN_COOKIE], request.body._csrf)) throw new AppError(403, 'the login form expired; load it again');
        const next = safeNext(request.body.next);
        if (!verifyPassword(request.body.password ?? '', config.passwordHash)) {
          request.log.warn('console login failed');
          reply.code(401);
          return loginForm(request, reply, { next, error: 'Wrong password.' });
        }
        // A new session id at login, so an id planted before it is worthless afterwards.
        await request.session.regenerate();
        request.session.admin = true;
        reply.clearCookie(LOGIN_COOKIE, { path: '/login' });
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
