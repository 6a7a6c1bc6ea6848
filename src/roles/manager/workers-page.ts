import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { WorkerParamsSchema } from '../../api/workers-api.js';
import { AppError, NotFoundError } from '../../http/app-error.js';
import { percent } from '../../scaling/policy-fields.js';
import type { WebPool, WorkerView } from '../../scaling/web-pool.js';
import { parseWorkerPolicyChange, type WorkerPolicy } from '../../scaling/worker-policy.js';
import { loadWorkerPolicy, saveWorkerPolicy } from '../../scaling/worker-policy-store.js';
import { csrfField, flashAndRedirect, htmlPage } from './console-helpers.js';
import { DASHBOARD_MINUTES, toWorkerCharts, windowStart, WorkerChartsSchema } from './dashboard-data.js';
import { WORKER_FILTERS, workerRows, workersView, type WorkerFilter, type WorkerPolicyForm } from './workers-view.js';

const ButtonBodySchema = { type: 'object', properties: csrfField } as const;
const text = { type: 'string' } as const;
const PolicyBodySchema = {
  type: 'object',
  properties: { ...csrfField, mode: text, growCpu: text, shrinkCpu: text, growRatio: text, shrinkRatio: text, cooldownS: text },
} as const;
const FilterQuerySchema = {
  type: 'object',
  properties: { state: { type: 'string', enum: [...WORKER_FILTERS] } },
} as const;

const describePolicy = (p: WorkerPolicy) =>
  p.mode === 'manual'
    ? 'the web pool is in manual mode: it changes size only when you say so'
    : `the web pool is in automatic mode: it grows ×${p.growRatio} above an average CPU of ${percent(p.growCpu)} and shrinks ×${p.shrinkRatio} below ${percent(p.shrinkCpu)}, then waits ${p.cooldownS} s`;

/** What the page says when there is no web pool: how to have one, rather than an empty table. */
const notConfigured = { title: 'Workers', nav: { workers: true }, configured: false };

/** The web pool: its workers, manual ±1, stopping one worker, the CPU policy, its history, and each worker's charts. */
export const workersPage: FastifyPluginAsync = async (app) => {
  const { db, workers: web } = app.services;

  /** Every action on a pool that is not there is refused the same way. */
  function requireWebPool(): WebPool {
    if (!web) throw new AppError(409, 'the web pool is not configured (EMC_WEB_POOL is none); nothing was done');
    return web;
  }

  /** In automatic mode the scaler owns the size; a manual step would only fight it. */
  async function step(delta: 1 | -1): Promise<string> {
    const { requests } = requireWebPool();
    if ((await loadWorkerPolicy(db)).mode !== 'manual') {
      throw new AppError(409, 'the web pool is in automatic mode, so the scaler sets its size; switch to manual mode to resize it by hand');
    }
    const outcome = await requests.step(delta, { actor: 'operator', reason: `console ${delta > 0 ? '+1' : '−1'}` });
    return outcome.message;
  }

  async function workerOf(request: FastifyRequest<{ Params: { id: string } }>): Promise<WorkerView> {
    const { id } = request.params;
    const worker = web && (await web.list()).find((w) => w.id === id);
    if (!worker) throw new NotFoundError(`the web pool has no worker ${id}`);
    return worker;
  }

  app.get<{ Querystring: { state?: WorkerFilter } }>(
    '/workers',
    { schema: { ...htmlPage, querystring: FilterQuerySchema } },
    async (request, reply) => {
      if (!web) return reply.viewAsync('pages/manager-workers.hbs', notConfigured);
      return reply.viewAsync('pages/manager-workers.hbs', await workersView(request, web, { filter: request.query.state ?? 'all' }));
    },
  );

  app.post('/workers/grow', { schema: { body: ButtonBodySchema } }, async (request, reply) =>
    flashAndRedirect(request, reply, '/workers', () => step(1)),
  );

  app.post('/workers/shrink', { schema: { body: ButtonBodySchema } }, async (request, reply) =>
    flashAndRedirect(request, reply, '/workers', () => step(-1)),
  );

  app.post<{ Body: { id?: string; confirm?: string } }>(
    '/workers/destroy',
    { schema: { body: { type: 'object', properties: { ...csrfField, id: { type: 'string', maxLength: 128 }, confirm: text } } } },
    async (request, reply) =>
      flashAndRedirect(request, reply, '/workers', async () => {
        const { requests } = requireWebPool();
        const { id, confirm } = request.body;
        if (!id) throw new AppError(400, 'choose the worker to destroy; nothing was done');
        // Without JavaScript a dialog cannot ask, so the form carries a tick box, checked here.
        if (confirm !== 'yes') throw new AppError(400, `tick the box to confirm destroying ${id}; nothing was done`);
        return (await requests.removeMember(id, { actor: 'operator', reason: `console: destroy ${id}` })).message;
      }),
  );

  app.post<{ Body: WorkerPolicyForm }>('/workers/policy', { schema: { body: PolicyBodySchema } }, async (request, reply) => {
    const pool = requireWebPool();
    const { mode, growCpu, shrinkCpu, growRatio, shrinkRatio, cooldownS } = request.body;
    const form = { mode, growCpu, shrinkCpu, growRatio, shrinkRatio, cooldownS };
    const current = await loadWorkerPolicy(db);
    const parsed = parseWorkerPolicyChange(form, current);
    if ('errors' in parsed) {
      reply.code(400);
      return reply.viewAsync('pages/manager-workers.hbs', await workersView(request, pool, { filter: 'all', rejected: { form, errors: parsed.errors } }));
    }
    // A form that changes nothing writes nothing.
    const unchanged = (Object.keys(current) as (keyof WorkerPolicy)[]).every((k) => current[k] === parsed.policy[k]);
    const saved = unchanged ? current : await saveWorkerPolicy(db, parsed.policy);
    request.session.flash = { kind: 'success', text: `Policy saved: ${describePolicy(saved)}.` };
    return reply.redirect('/workers');
  });

  app.get<{ Params: { id: string } }>('/workers/:id', { schema: { ...htmlPage, params: WorkerParamsSchema } }, async (request, reply) => {
    const [worker] = await workerRows(request, [await workerOf(request)]);
    return reply.viewAsync('pages/manager-worker.hbs', {
      title: `Worker ${worker!.id}`,
      nav: { workers: true },
      worker,
      minutes: DASHBOARD_MINUTES,
      dataUrl: `/workers/${encodeURIComponent(worker!.id)}/data.json`,
    });
  });

  app.get<{ Params: { id: string } }>(
    '/workers/:id/data.json',
    { schema: { params: WorkerParamsSchema, response: { 200: WorkerChartsSchema } } },
    async (request, reply) => {
      const { id } = await workerOf(request);
      const now = new Date();
      const points = await app.services.metrics.workerSeries(windowStart(now), now, id);
      // Polled every few seconds; a cached answer would freeze the charts.
      reply.header('cache-control', 'no-store');
      return toWorkerCharts(points, now);
    },
  );
};
