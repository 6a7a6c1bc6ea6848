import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { AppError } from '../../http/app-error.js';
import { parsePolicyChange, percent, type ScalerPolicy } from '../../scaling/scaler-policy.js';
import { loadScalerPolicy, saveScalerPolicy } from '../../scaling/scaler-policy-store.js';
import { csrfField, flashAndRedirect, htmlPage } from './console-helpers.js';
import { poolView, type PolicyForm } from './pool-page-view.js';

const ButtonBodySchema = { type: 'object', properties: csrfField } as const;
const text = { type: 'string' } as const;
const PolicyBodySchema = {
  type: 'object',
  properties: { ...csrfField, mode: text, maxMiss: text, minMiss: text, expRatio: text, shrinkRatio: text },
} as const;
const NodeParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

const describePolicy = (p: ScalerPolicy) =>
  p.mode === 'manual'
    ? 'the pool is in manual mode: it changes size only when you say so'
    : `the pool is in automatic mode: it grows ×${p.expandRatio} above a miss rate of ${percent(p.maxMissRate)} and shrinks ×${p.shrinkRatio} below ${percent(p.minMissRate)}`;

/** The pool: mode, manual ±1, the automatic policy, the nodes and the scaling history (SPEC §6). */
export function poolPage(config: Config): FastifyPluginAsync {
  const bounds = { minNodes: config.pool.minNodes, maxNodes: config.pool.maxNodes };
  return async (app) => {
    const { db, requests } = app.services;

    /** In automatic mode the scaler owns the size; a manual step would only fight it. */
    async function step(delta: 1 | -1): Promise<string> {
      if ((await loadScalerPolicy(db)).mode !== 'manual') {
        throw new AppError(409, 'the pool is in automatic mode, so the scaler sets its size; switch to manual mode to resize it by hand');
      }
      // One bounded step from whatever the desired size is when it is written: two clicks give two steps.
      const outcome = await requests.step(delta, { actor: 'operator', reason: `console ${delta > 0 ? '+1' : '−1'}` });
      return outcome.message;
    }

    app.get('/pool', { schema: htmlPage }, async (request, reply) => reply.viewAsync('pages/manager-pool.hbs', await poolView(request, bounds)));

    app.post('/pool/grow', { schema: { body: ButtonBodySchema } }, async (request, reply) =>
      flashAndRedirect(request, reply, '/pool', () => step(1)),
    );

    app.post('/pool/shrink', { schema: { body: ButtonBodySchema } }, async (request, reply) =>
      flashAndRedirect(request, reply, '/pool', () => step(-1)),
    );

    app.post<{ Params: { id: string } }>(
      '/pool/nodes/:id/stop',
      { schema: { params: NodeParamsSchema, body: ButtonBodySchema } },
      async (request, reply) =>
        flashAndRedirect(request, reply, '/pool', async () => {
          const { id } = request.params;
          return (await requests.removeMember(id, { actor: 'operator', reason: `console: stop ${id}` })).message;
        }),
    );

    app.post<{ Body: PolicyForm }>('/pool/policy', { schema: { body: PolicyBodySchema } }, async (request, reply) => {
      const { mode, maxMiss, minMiss, expRatio, shrinkRatio } = request.body;
      const form = { mode, maxMiss, minMiss, expRatio, shrinkRatio };
      const current = await loadScalerPolicy(db);
      const parsed = parsePolicyChange(form, current);
      if ('errors' in parsed) {
        reply.code(400);
        return reply.viewAsync('pages/manager-pool.hbs', await poolView(request, bounds, { form, errors: parsed.errors }));
      }
      // A form that changes nothing writes nothing.
      const unchanged = (Object.keys(current) as (keyof ScalerPolicy)[]).every((k) => current[k] === parsed.policy[k]);
      const saved = unchanged ? current : await saveScalerPolicy(db, parsed.policy);
      request.session.flash = { kind: 'success', text: `Policy saved: ${describePolicy(saved)}.` };
      return reply.redirect('/pool');
    });
  };
}
