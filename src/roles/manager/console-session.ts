import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import fastifyPlugin from 'fastify-plugin';
import type { ConsoleConfig } from '../../config/config.js';
import { createSessionStore } from './session-store.js';

const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

declare module 'fastify' {
  interface FastifyReply {
    /** Merged by @fastify/view into every template's context (the CSRF token, the flash). */
    locals: Record<string, unknown> | null;
  }
  interface Session {
    admin?: boolean;
    /** One message for the next page after a redirect. */
    flash?: { kind: 'success' | 'error'; text: string };
  }
}

/** Cookies, sessions and CSRF tokens for the console's forms. */
export const consoleSession = fastifyPlugin<{ config: ConsoleConfig }>(async (app, { config }) => {
  await app.register(fastifyFormbody);
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: config.sessionSecret,
    cookieName: 'emc.sid',
    store: createSessionStore({ db: app.services.db, ttlMs: SESSION_TTL_MS }),
    saveUninitialized: false,
    // Behind a TLS-terminating proxy (EMC_TRUST_PROXY) the cookie is always `Secure`: a plain-HTTP
    // request gets none ('auto' would hand it one with SameSite weakened to Lax).
    cookie: { httpOnly: true, sameSite: 'strict', secure: config.trustProxy, path: '/', maxAge: SESSION_TTL_MS },
  });
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' });
});
