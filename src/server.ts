import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, type Listener } from './app.js';
import type { Config } from './config/config.js';

export type Running = { log: FastifyBaseLogger; close(): Promise<void> };

const listenersOf: Record<Config['role'], Listener[]> = {
  all: ['web', 'manager'],
  web: ['web'],
  manager: ['manager'],
  cache: ['cache'],
  scaler: [],
};

/** Starts every listener of the role on its port, sharing one set of services. */
export async function startRole(config: Config): Promise<Running> {
  const listeners = listenersOf[config.role];
  // The first app owns the logger the services use; all listeners share the services.
  const first = await buildApp(config, { listener: listeners[0] ?? 'web' });
  const services = first.services;
  const apps: FastifyInstance[] = [first];
  for (const listener of listeners.slice(1)) apps.push(await buildApp(config, { listener, services }));
  if (listeners.length === 0) {
    first.log.warn('role scaler: the auto-scaling loop is not built yet; this process only keeps the database migrated');
    return { log: first.log, close: () => first.close() };
  }
  for (const [i, app] of apps.entries()) {
    const port = config.ports[listeners[i]!];
    await app.listen({ host: config.host, port });
  }
  if (!config.adminToken && listeners.some((l) => l !== 'cache')) {
    first.log.warn('EMC_ADMIN_TOKEN is not set: the management API calls (delete_all, configure_cache) are open');
  }
  return {
    log: first.log,
    // The first app owns the services, so it closes last.
    async close() {
      for (const app of apps.slice().reverse()) await app.close();
    },
  };
}
