import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import type { Config } from './config/config.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { createHandlebars } from './http/view-helpers.js';
import { createServices, type ServiceOverrides, type Services } from './services.js';
import { cacheRole } from './roles/cache/cache-role.js';
import { createCacheNodeServices } from './roles/cache/cache-node-services.js';
import { managerRole } from './roles/manager/manager-role.js';
import { webRole } from './roles/web/web-role.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** Which HTTP surface one listener serves; role `all` runs a web and a manager listener. */
export type Listener = 'web' | 'manager' | 'cache';

export type BuildOptions = {
  listener?: Listener;
  /** Shared with other listeners of the same process; the app then does not close them. */
  services?: Services;
  overrides?: ServiceOverrides;
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Never written to the log. The request serializer logs method, URL and addresses only, but
 * @fastify/multipart logs the request headers (`busboyOptions.headers`) at trace level, and
 * any headers object or configuration-like field logged later is covered too. Explicit paths
 * only: a wildcard path makes pino inspect every key of every line, several microseconds a
 * line on the request path.
 */
export const REDACTED_LOG_PATHS = [
  ...['req.headers', 'busboyOptions.headers', 'headers', 'request.headers'].flatMap((at) => [`${at}.authorization`, `${at}.cookie`]),
  'res.headers["set-cookie"]',
  'headers["set-cookie"]',
  // Fields named like a secret, at the top of a log line.
  ...['password', 'passwordHash', 'token', 'adminToken', 'sessionSecret', 'secretAccessKey', 'sessionToken', 'databaseUrl', 'env', 'childEnv'],
];

function defaultListener(config: Config): Listener {
  return config.role === 'manager' || config.role === 'cache' ? config.role : 'web';
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const listener = options.listener ?? defaultListener(config);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { role: listener },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    },
    // Keys may contain "/" and be up to 255 characters, percent-encoded three bytes each.
    routerOptions: { maxParamLength: 4096 },
    trustProxy: config.console?.trustProxy ?? false,
    // A cache node answers the web tier, not people; per-request logs would only slow the hot path.
    logController: new LogController({ disableRequestLogging: listener === 'cache' }),
    frameworkErrors,
    clientErrorHandler,
  });
  if (listener === 'cache') {
    const node = await createCacheNodeServices(config, app.log);
    if (!config.cache.token && !['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
      app.log.warn(`EMC_CACHE_TOKEN is not set: this cache node answers anyone who can reach ${config.host}:${config.ports.cache}`);
    }
    app.addHook('onReady', async () => node.start());
    app.addHook('onClose', () => node.close());
    await registerCommon(app, listener);
    await app.register(cacheRole(node.store, { token: config.cache.token }));
    return app;
  }
  const services = options.services ?? (await createServices(config, app.log, options.overrides));
  if (!options.services) {
    // The app that created the services owns their background loops and their closing.
    app.addHook('onReady', async () => services.start());
    app.addHook('onClose', () => services.close());
  }
  app.decorate('services', services);
  await registerCommon(app, listener);
  await app.register(listener === 'web' ? webRole(config) : managerRole(config));
  return app;
}

async function registerCommon(app: FastifyInstance, listener: Listener): Promise<void> {
  // First, on the root scope: every answer gets them, errors and unknown paths included.
  await registerSecurityHeaders(app, listener);
  await app.register(fastifyView, {
    engine: { handlebars: createHandlebars() },
    root: join(root, 'views'),
    layout: 'layout.hbs',
    options: { partials: { nav: 'partials/nav.hbs' } },
    defaultContext: { listener },
  });
  await app.register(fastifyStatic, { root: join(root, 'public'), prefix: '/static/' });
  await app.register(fastifyMultipart);
  registerErrorHandling(app);
}
