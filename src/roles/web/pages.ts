import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { AppError } from '../../http/app-error.js';
import { readUploadForm } from '../../http/read-upload.js';

const keyQuery = {
  querystring: { type: 'object', properties: { key: { type: 'string' } } },
} as const;

/** Server-rendered pages: home, upload, look up, all keys. */
export function pages(config: Config): FastifyPluginAsync {
  const limitMb = +(config.uploadLimitBytes / 1048576).toFixed(2);
  return async (app) => {
    const { images } = app.services;

    app.get('/', async (_request, reply) =>
      reply.viewAsync('pages/home.hbs', { title: 'Home', nav: { home: true }, keyCount: (await images.listKeys()).length }),
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

    app.get('/keys', async (_request, reply) => {
      const keys = await images.listKeys();
      return reply.viewAsync('pages/keys.hbs', { title: 'All keys', nav: { keys: true }, keys });
    });
  };
}
