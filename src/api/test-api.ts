// The course's JSON test API (SPEC §8), served by the web and manager roles.
// Every call is a POST; `success` is the string "true" or "false".
import type { FastifyInstance, FastifyPluginAsync, RouteShorthandOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { AppError, NotFoundError } from '../http/app-error.js';
import { applyConfiguration, type ConfigurationChange } from '../scaling/apply-configuration.js';
import { refuseSimpleBodies } from '../http/cross-site-guard.js';
import { acceptUploadForms, readUploadForm } from '../http/read-upload.js';
import { streamKeyList } from './key-list-stream.js';
import { requireAdminToken } from './admin-token.js';
import { workersApi } from './workers-api.js';

const ok = { type: 'string', enum: ['true'] } as const;
const success = (properties: Record<string, object> = {}) => ({
  200: { type: 'object', required: ['success'], properties: { success: ok, ...properties } },
});

const upload: RouteShorthandOptions = { schema: { response: success({ key: { type: 'string' } }) } };
const listKeys: RouteShorthandOptions = {
  schema: { response: success({ keys: { type: 'array', items: { type: 'string' } } }) },
};
const getKey: RouteShorthandOptions = {
  schema: {
    params: { type: 'object', properties: { '*': { type: 'string' } } },
    response: success({ key: { type: 'string' }, content: { type: 'string' } }),
  },
};

const numNodes: RouteShorthandOptions = { schema: { response: success({ numNodes: { type: 'integer' } }) } };
const getRate: RouteShorthandOptions = {
  schema: {
    querystring: {
      type: 'object',
      required: ['rate'],
      properties: { rate: { type: 'string', enum: ['miss', 'hit'] } },
    },
    response: success({ rate: { type: 'string' }, value: { type: 'number' } }),
  },
};

const configureFields = ['mode', 'numNodes', 'cacheSize', 'policy', 'expRatio', 'shrinkRatio', 'maxMiss', 'minMiss'];
const configureCache: RouteShorthandOptions = {
  schema: {
    querystring: { type: 'object', properties: Object.fromEntries(configureFields.map((f) => [f, { type: 'string' }])) },
    response: success({
      mode: { type: 'string' },
      numNodes: { type: 'integer' },
      cacheSize: { type: 'integer' },
      policy: { type: 'string' },
    }),
  },
};

export function testApi(config: Config): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const { images } = app.services;
    await acceptUploadForms(app);

    app.post('/upload', upload, async (request) => {
      const form = await readUploadForm(request, config.uploadLimitBytes);
      const result = await images.upload(form.key, form.bytes);
      return { success: 'true', key: result.key };
    });

    app.post('/list_keys', listKeys, async (_request, reply) =>
      reply.type('application/json; charset=utf-8').send(await streamKeyList(images)),
    );

    app.post<{ Params: { '*': string } }>('/key/*', getKey, async (request) => {
      const key = request.params['*'];
      const image = key ? await images.get(key) : null;
      if (!image) throw new NotFoundError(`unknown key ${JSON.stringify(key)}`);
      return { success: 'true', key, content: image.bytes.toString('base64') };
    });

    app.post('/getNumNodes', numNodes, async () => ({ success: 'true', numNodes: app.services.pool.nodes().length }));

    app.post<{ Querystring: { rate: 'miss' | 'hit' } }>('/getRate', getRate, async (request) => {
      const to = new Date();
      const totals = await app.services.metrics.totals(new Date(to.getTime() - 60_000), to);
      const rate = request.query.rate;
      return { success: 'true', rate, value: rate === 'miss' ? totals.missRate : totals.hitRate };
    });

    await app.register(async (admin) => {
      admin.addHook('onRequest', refuseSimpleBodies);
      admin.addHook('onRequest', requireAdminToken(config.adminToken));
      admin.post('/delete_all', { schema: { response: success() } }, async () => {
        await images.deleteAll();
        return { success: 'true' };
      });
      admin.post<{ Querystring: ConfigurationChange }>('/configure_cache', configureCache, async (request) => ({
        success: 'true',
        // The bounds are checked before anything changes, so a refused numNodes leaves the cache settings alone too.
        ...(await applyConfiguration({ ...app.services, bounds: { min: config.pool.minNodes, max: config.pool.maxNodes } }, request.query)),
      }));
      await admin.register(workersApi);
    });

    // The course client only POSTs; any other method gets a clear 405, not a 404.
    app.route({
      method: ['GET', 'PUT', 'PATCH', 'DELETE'],
      url: '/*',
      handler: async (request, reply) => {
        reply.header('allow', 'POST');
        throw new AppError(405, `${request.method} is not allowed here; the API takes POST`);
      },
    });
  };
}
