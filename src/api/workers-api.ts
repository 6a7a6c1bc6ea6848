// The web pool's JSON API (issue 16), with the management calls' admin token.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Db } from '../db/database.js';
import { AppError } from '../http/app-error.js';
import type { WebPool } from '../scaling/web-pool.js';
import { parseWorkerPolicyChange, type WorkerPolicy, type WorkerPolicyChangeInput } from '../scaling/worker-policy.js';
import { loadWorkerPolicy, saveWorkerPolicy } from '../scaling/worker-policy-store.js';

const ResizeBodySchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: { to: { type: 'integer' }, by: { type: 'integer', enum: [1, -1] } },
} as const;

/** A worker named in a path, by the API and the console alike. */
export const WorkerParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

const POLICY_FIELDS = ['mode', 'growCpu', 'shrinkCpu', 'growRatio', 'shrinkRatio', 'cooldownS'] as const;
const PolicyBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(POLICY_FIELDS.map((f) => [f, { anyOf: [{ type: 'string' }, { type: 'number' }] }])),
} as const;

type ResizeBody = { to: number } | { by: 1 | -1 };

function webPoolOf(request: FastifyRequest): WebPool {
  const workers = request.server.services.workers;
  if (!workers) throw new AppError(409, 'there is no web pool here: EMC_WEB_POOL=none (set it to cluster, with EMC_PROVIDER=process, to run local web workers)');
  return workers;
}

/** In automatic mode the web pool's scaler sets its size; a resize by hand would only fight it. */
async function refuseInAutoMode(db: Db): Promise<void> {
  if ((await loadWorkerPolicy(db)).mode === 'auto') {
    throw new AppError(409, 'the web pool is in automatic mode, so its scaler sets its size; switch its policy to manual to resize it by hand');
  }
}

export const workersApi: FastifyPluginAsync = async (app) => {
  app.get('/workers', async (request) => {
    const workers = webPoolOf(request);
    const [list, desired] = await Promise.all([workers.list(), workers.requests.size()]);
    return { success: 'true', desired, min: workers.bounds.min, max: workers.bounds.max, workers: list };
  });

  app.post<{ Body: ResizeBody }>('/workers/resize', { schema: { body: ResizeBodySchema } }, async (request) => {
    const { requests } = webPoolOf(request);
    await refuseInAutoMode(app.services.db);
    const body = request.body;
    const asked = { actor: 'operator' as const, reason: 'to' in body ? `API resize to ${body.to}` : `API ${body.by > 0 ? '+1' : '−1'}` };
    const outcome = 'to' in body ? await requests.resize(body.to, asked) : await requests.step(body.by, asked);
    return { success: 'true', ...outcome };
  });

  app.get('/workers/policy', async (request) => {
    webPoolOf(request);
    return { success: 'true', policy: await loadWorkerPolicy(app.services.db) };
  });

  /** Changes the fields given (the others stay); every rejected field is named with its reason, and nothing changes. */
  app.post<{ Body: WorkerPolicyChangeInput }>('/workers/policy', { schema: { body: PolicyBodySchema } }, async (request) => {
    webPoolOf(request);
    const { db } = app.services;
    const current = await loadWorkerPolicy(db);
    const parsed = parseWorkerPolicyChange(request.body, current);
    if ('errors' in parsed) throw new AppError(400, parsed.errors.join('; '));
    const unchanged = POLICY_FIELDS.every((k) => current[k] === parsed.policy[k]);
    const policy: WorkerPolicy = unchanged ? current : await saveWorkerPolicy(db, parsed.policy);
    return { success: 'true', policy };
  });

  app.post<{ Params: { id: string } }>('/workers/:id/stop', { schema: { params: WorkerParamsSchema } }, async (request) => {
    const { requests } = webPoolOf(request);
    const { id } = request.params;
    return { success: 'true', ...(await requests.removeMember(id, { actor: 'operator', reason: `API: stop ${id}` })) };
  });
};
