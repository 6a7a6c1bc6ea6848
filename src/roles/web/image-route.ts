import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../../http/app-error.js';

/**
 * GET /image/<key>: the hot path. Served with the stored type, never sniffed,
 * and revalidated by ETag (the object name changes on every upload).
 */
export const imageRoute: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { '*': string } }>('/image/*', async (request, reply) => {
    const key = request.params['*'];
    const image = key ? await app.services.images.get(key) : null;
    if (!image) throw new NotFoundError(`no image under the key ${JSON.stringify(key)}`);
    reply
      .header('etag', image.etag)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox");
    if (request.headers['if-none-match'] === image.etag) return reply.code(304).send();
    return reply.type(image.contentType).send(image.bytes);
  });
};
