import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import type { Config } from './config/config.js';
import { registerErrorHandling } from './http/error-handler.js';
import { createHandlebars } from './http/view-helpers.js';
import { createServices, type ServiceOverrides, type Services } from './services.js';
import { cacheRole } from './roles/cache/cache-role.js';
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

function defaultListener(config: Config): Listener {
  return config.role === 'manager' || config.role === 'cache' ? config.role : 'web';
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const listener = options.listener ?? defaultListener(config);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { role: listener },
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    // Keys may contain "/" and be up to 255 characters, percent-encoded three bytes each.
    routerOptions: { maxParamLength: 4096 },
  });
  const services = options.services ?? (await createServices(config, app.log, options.overrides));
  if (!options.services) app.addHook('onClose', () => services.close());
  app.decorate('services', services);

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

  switch (listener) {
    case 'web':
      await app.register(webRole(config));
      break;
    case 'manager':
      await app.register(managerRole(config));
      break;
    case 'cache':
      await app.register(cacheRole());
      break;
  }
  return app;
}
