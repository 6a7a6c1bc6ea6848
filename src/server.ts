import cluster from 'node:cluster';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp, type Listener } from './app.js';
import type { Config } from './config/config.js';
import { logOutput } from './config/log-output.js';

export type Running = { log: FastifyBaseLogger; close(): Promise<void> };

const listenersOf: Record<Exclude<Config['role'], 'scaler'>, Listener[]> = {
  all: ['web', 'manager'],
  web: ['web'],
  manager: ['manager'],
  cache: ['cache'],
};

/**
 * The listeners this process opens. With a local web pool the manager is the `cluster` primary
 * and its workers serve the web port: role all keeps only the manager's listener.
 */
function listenersFor(role: Exclude<Config['role'], 'scaler'>, webPool: Config['webPool']['kind']): Listener[] {
  return role === 'all' && webPool === 'cluster' ? ['manager'] : listenersOf[role];
}

/**
 * Starts every listener of the role on its port, sharing one set of services. `stop` is how
 * the process is asked to shut down from inside (a cluster worker that has drained).
 */
export async function startRole(config: Config, { stop }: { stop: (why: string) => void }): Promise<Running> {
  if (config.role === 'scaler') return startScaler(config);
  const listeners = listenersFor(config.role, config.webPool.kind);
  // The first app creates the services (and owns their loops and closing); the others share them.
  const first = await buildApp(config, { listener: listeners[0] });
  const apps: FastifyInstance[] = [first];
  for (const listener of listeners.slice(1)) apps.push(await buildApp(config, { listener, services: first.services }));
  if (cluster.isWorker && config.role === 'web') {
    const { serveClusterWorker } = await import('./roles/web/cluster-worker.js');
    serveClusterWorker(first, { drainTimeoutMs: config.webPool.drainTimeoutMs, stop });
  }
  for (const [i, app] of apps.entries()) {
    await app.listen({ host: config.host, port: config.ports[listeners[i]!] });
  }
  const generated = config.console?.generatedPassword;
  if (generated) {
    // Shown once on the terminal, never written to the structured log.
    process.stderr.write(
      `\n  Manager console: http://${config.host}:${config.ports.manager}\n` +
        `  No EMC_ADMIN_PASSWORD was set, so this run's admin password is: ${generated}\n\n`,
    );
  }
  if (!config.adminToken && config.role !== 'cache') {
    first.log.warn('EMC_ADMIN_TOKEN is not set: the management API calls (delete_all, configure_cache) are open');
  }
  return {
    log: first.log,
    async close() {
      for (const app of apps.slice().reverse()) await app.close();
    },
  };
}

/** The scaler serves no HTTP: it runs the scaling loop, which only records desired sizes. */
async function startScaler(config: Config): Promise<Running> {
  const log = pino({ level: config.logLevel, base: { role: 'scaler' } }, await logOutput(config));
  const { createServices } = await import('./services.js');
  const services = await createServices(config, log);
  services.start();
  // Every loop's timer is unref'd (a test or role all closes them); with no socket to listen
  // on, this timer is what keeps the scaler's process up until a signal stops it.
  const alive = setInterval(() => undefined, 1 << 30);
  log.info({ intervalMs: config.pool.scalerIntervalMs }, 'scaler started');
  return {
    log,
    async close() {
      clearInterval(alive);
      await services.close();
    },
  };
}
