import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { AppError } from '../../http/app-error.js';
import { acceptUploadForms, readUploadForm } from '../../http/read-upload.js';
import { createWorkGate } from '../../http/work-gate.js';

/** Keys on one page of /keys: the page stays small and fast however many images are stored. */
export const KEYS_PAGE_SIZE = 100;

const keysPageQuery = {
  querystring: { type: 'object', properties: { after: { type: 'string', maxLength: 1024 } } },
} as const;

const keyQuery = {
  querystring: { type: 'object', properties: { key: { type: 'string' } } },
} as const;

/** Server-rendered pages: home, upload, look up, all keys. */
export function pages(config: Config): FastifyPluginAsync {
  const limitMb = +(config.uploadLimitBytes / 1048576).toFixed(2);
  return async (app) => {
    const { images } = app.services;
    await acceptUploadForms(app);

    app.get('/', async (_request, reply) =>
      reply.viewAsync('pages/home.hbs', { title: 'Home', nav: { home: true }, keyCount: await images.countKeys() }),
    );

    app.get('/upload', async (_request, reply) =>
      reply.viewAsync('pages/upload.hbs', { title: 'Upload', nav: { upload: true }, limitMb }),
    );

    app.post('/upload', async (request, reply) => {
      const view = { title: 'Upload', nav: { upload: true }, limitMb };
      let key: unknown;
      try {
        const form = await readUploadForm(request, config.uploadLimitBytes);
        key = form.key;
        const result = await images.upload(form.key, form.bytes);
        return reply.viewAsync('pages/upload.hbs', { ...view, stored: result });
      } catch (err) {
        // Expected rejections re-show the form with the reason; anything else is a real error.
        if (!(err instanceof AppError)) throw err;
        reply.code(err.statusCode);
        return reply.viewAsync('pages/upload.hbs', { ...view, error: err.message, key });
      }
    });

    app.get<{ Querystring: { key?: string } }>('/lookup', { schema: keyQuery }, async (request, reply) => {
      const key = request.query.key;
      const view = { title: 'Look up', nav: { lookup: true }, key };
      if (key === undefined || key === '') return reply.viewAsync('pages/lookup.hbs', view);
      const image = await images.get(key);
      if (!image) reply.code(404);
      return reply.viewAsync('pages/lookup.hbs', {
        ...view,
        searched: true,
        found: image !== null,
        src: `/image/${encodeURIComponent(key)}`,
        contentType: image?.contentType,
        size: image?.bytes.length,
      });
    });

    // Paged by key (`?after=<last key shown>`), not by offset: a deep page costs what the first does.
    const keysGate = createWorkGate({ concurrency: 1, queue: 64, busy: 'too many key listings at once; try again shortly' });
    app.get<{ Querystring: { after?: string } }>('/keys', { schema: keysPageQuery }, async (request, reply) => {
      const after = request.query.after || undefined;
      return keysGate(async () => {
        const [page, total] = await Promise.all([images.keysPage({ after, limit: KEYS_PAGE_SIZE + 1 }), images.countKeys()]);
        const keys = page.slice(0, KEYS_PAGE_SIZE);
        const next = page.length > KEYS_PAGE_SIZE ? keys.at(-1) : undefined;
        return reply.viewAsync('pages/keys.hbs', { title: 'All keys', nav: { keys: true }, keys, total, after, next, pageSize: KEYS_PAGE_SIZE });
      });
    });
  };
}
