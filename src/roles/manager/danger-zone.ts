import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { AppError } from '../../http/app-error.js';
import { loadScalerPolicy, saveScalerPolicy } from '../../scaling/scaler-policy-store.js';
import { csrfField, flashAndRedirect, htmlPage, plural, sentence } from './console-helpers.js';
import { createStopEverything, type StoppedEverything } from './stop-everything.js';

type ConfirmBody = { confirm?: string };

const ConfirmBodySchema = { type: 'object', properties: { ...csrfField, confirm: { type: 'string' } } } as const;

/** Without JavaScript a dialog cannot ask, so each form carries its own tick box, checked here. */
function requireConfirmation(body: ConfirmBody, what: string): void {
  if (body.confirm !== 'yes') throw new AppError(400, `tick the box to confirm ${what}; nothing was done`);
}

/**
 * Clear all caches, delete all application data, stop the pool (SPEC §6), stop everything (issue 16).
 * `shutdown` ends this process cleanly (the CLI's own stop); without it the process is left running.
 */
export function dangerZone(config: Config, shutdown: (() => void) | undefined): FastifyPluginAsync {
  const { minNodes } = config.pool;
  const { minWorkers } = config.webPool;
  return async (app) => {
    const { db, pool, images, requests } = app.services;
    const schema = { body: ConfirmBodySchema };
    const stopEverything = createStopEverything(config, app.services);

    app.get('/danger', { schema: htmlPage }, async (_request, reply) =>
      reply.viewAsync('pages/manager-danger.hbs', {
        title: 'Danger zone',
        nav: { danger: true },
        minNodes,
        minWorkers,
        webPool: config.webPool.kind !== 'none',
        waitS: config.pool.resizeWaitMs / 1000,
        embedded: config.role === 'all',
      }),
    );

    app.post<{ Body: ConfirmBody }>('/danger/clear-caches', { schema }, async (request, reply) =>
      flashAndRedirect(request, reply, '/danger', async () => {
        requireConfirmation(request.body, 'clearing every cache');
        await pool.clear();
        return `cleared every cache (${plural(pool.nodes().length, 'node')}); the images themselves are untouched`;
      }),
    );

    app.post<{ Body: ConfirmBody }>('/danger/delete-all', { schema }, async (request, reply) =>
      flashAndRedirect(request, reply, '/danger', async () => {
        requireConfirmation(request.body, 'deleting all application data');
        const deleted = await images.deleteAll();
        request.log.warn(deleted, 'all application data deleted from the console');
        if (deleted.images === 0 && deleted.objects === 0) return 'there was nothing to delete: no images and no stored objects (every cache was cleared anyway)';
        return `deleted ${plural(deleted.images, 'image')} and ${plural(deleted.objects, 'stored object')}, and cleared every cache`;
      }),
    );

    app.post<{ Body: ConfirmBody }>('/danger/stop-pool', { schema }, async (request, reply) =>
      flashAndRedirect(request, reply, '/danger', async () => {
        requireConfirmation(request.body, 'stopping the pool');
        // Manual first, so the scaler cannot grow the pool again behind our back.
        const policy = await loadScalerPolicy(db);
        if (policy.mode !== 'manual') await saveScalerPolicy(db, { ...policy, mode: 'manual' });
        const outcome = await requests.resize(minNodes, { actor: 'operator', reason: 'console: stop the pool' });
        const switched = policy.mode === 'manual' ? 'the pool was already in manual mode' : 'automatic scaling is off (manual mode)';
        return `${switched}; ${outcome.message}, its minimum — it never goes below that`;
      }),
    );

    app.post<{ Body: ConfirmBody }>('/danger/stop-everything', { schema }, async (request, reply) => {
      let stopped: StoppedEverything;
      try {
        requireConfirmation(request.body, 'stopping everything');
        stopped = await stopEverything({ actor: 'operator', reason: 'console: stop everything' });
      } catch (err) {
        // A refusal (no tick box, a leader that did not finish) leaves the manager running to say why.
        if (!(err instanceof AppError)) throw err;
        request.session.flash = { kind: 'error', text: sentence(err.message) };
        return reply.redirect('/danger');
      }
      request.log.warn({ workers: stopped.workers, nodes: stopped.nodes }, 'everything stopped from the console');
      // Answered, not redirected: the page the redirect would lead to is going away with the process.
      if (shutdown) reply.raw.once('finish', shutdown);
      return reply.viewAsync('pages/manager-stopped.hbs', {
        title: 'Stopped',
        message: sentence(stopped.message),
        shuttingDown: shutdown !== undefined,
      });
    });
  };
}
