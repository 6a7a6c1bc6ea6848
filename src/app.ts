import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { logOutput } from './config/log-output.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.js';
import { registerCrossSiteGuard } from './http/cross-site-guard.js';
import { lazyRequestLogger } from './http/request-logger.js';
import { RequestLogging } from './http/request-logging.js';
import { timeoutServerFactory } from './http/listener-timeouts.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import type { ServiceOverrides, Services } from './services.js';

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
  /** Ends this process cleanly; the console's "stop everything" calls it once both pools are at 0. */
  shutdown?: () => void;
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
      stream: await logOutput(config),
      // Cache children and web workers log into their parent's output; their pool id tells them apart.
      base: {
        role: listener,
        ...(listener === 'cache' && config.cache.nodeId ? { node: config.cache.nodeId } : {}),
        ...(listener === 'web' && config.webPool.workerId ? { worker: config.webPool.workerId } : {}),
      },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    },
    // Keys may contain "/" and be up to 255 characters, percent-encoded three bytes each.
    routerOptions: { maxParamLength: 4096 },
    // Trust the one proxy in front (the socket's peer) and nothing it forwards: the client address
    // is the one that proxy appended to X-Forwarded-For, never the leftmost value the client
    // wrote itself (which would key the login limit on a lie).
    trustProxy: config.console?.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    // A cache node answers the web tier, not people; per-request logs would only slow the hot path.
    logController: new RequestLogging({ disableRequestLogging: listener === 'cache' }),
    childLoggerFactory: lazyRequestLogger,
    frameworkErrors,
    clientErrorHandler,
    serverFactory: timeoutServerFactory(config.http),
  });
  // Each listener loads only its own code: a cache node holds data, not templates, a
  // database client or the console, and every module loaded costs each node's RSS.
  if (listener === 'cache') {
    const { registerCacheNode } = await import('./roles/cache/cache-node.js');
    await registerCacheNode(app, config);
    return app;
  }
  const { createServices } = await import('./services.js');
  const services = options.services ?? (await createServices(config, app.log, options.overrides));
  if (!options.services) {
    // The app that created the services owns their background loops and their closing.
    app.addHook('onReady', async () => services.start());
    app.addHook('onClose', () => services.close());
  }
  app.decorate('services', services);
  await registerPageSupport(app, listener);
  if (listener === 'web') {
    const { workerId, instanceId } = config.webPool;
    if (workerId) {
      // A worker of the web pool: its CPU, requests and bytes are what the web pool's scaler and charts read.
      const { registerWorkerStats } = await import('./metrics/worker-stats.js');
      registerWorkerStats(app, { workerId, instanceId, sink: services.metrics, intervalMs: config.cache.statsIntervalMs, log: app.log });
    }
    const { webRole } = await import('./roles/web/web-role.js');
    await app.register(webRole(config));
  } else {
    const { managerRole } = await import('./roles/manager/manager-role.js');
    await app.register(managerRole(config, options.shutdown));
  }
  return app;
}

/** Web and manager: security headers, templates, static files and the error pages (upload forms: read-upload.ts). */
async function registerPageSupport(app: FastifyInstance, listener: Listener): Promise<void> {
  const [{ default: fastifyView }, { default: fastifyStatic }, { createHandlebars }] = await Promise.all([
    import('@fastify/view'),
    import('@fastify/static'),
    import('./http/view-helpers.js'),
  ]);
  // First, on the root scope: every answer gets them, errors and unknown paths included.
  await registerSecurityHeaders(app, listener);
  registerCrossSiteGuard(app);
  // Declared here, so @fastify/view adds no hook of its own to set `reply.locals = {}` on every
  // request (image hits included); templates read a null `locals` as empty.
  app.decorateReply('locals', null);
  await app.register(fastifyView, {
    engine: { handlebars: createHandlebars() },
    root: join(root, 'views'),
    layout: 'layout.hbs',
    options: { partials: { nav: 'partials/nav.hbs' } },
    defaultContext: { listener },
  });
  await app.register(fastifyStatic, { root: join(root, 'public'), prefix: '/static/' });
  registerErrorHandling(app);
}
