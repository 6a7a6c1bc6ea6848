import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../../http/app-error.js';
import { setStoredBytesHeaders } from '../../http/security-headers.js';

/**
 * The types an upload can be stored under (see images/image-type.ts). Anything else in a row
 * (written by hand, or by an older version) goes out as opaque bytes, never as a type a
 * browser would render as a document (HTML, SVG).
 */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);
const servedType = (stored: string) => (IMAGE_TYPES.has(stored) ? stored : 'application/octet-stream');

/**
 * GET /image/<key>: the hot path. Served with the stored type (only ever one of the image
 * types recognised at upload, never HTML or SVG), never sniffed, under a sandboxed CSP that
 * allows nothing, and revalidated by ETag (the object name changes on every upload).
 * The page headers are left off (`storedBytes`): the image gets the fixed stored-bytes headers,
 * and an error (an unknown key, a fault) is answered with an error page that gets the page headers.
 */
export const imageRoute: FastifyPluginAsync = async (app) => {
  const options = { config: { storedBytes: true, quietHits: true } } as const;
  app.get<{ Params: { '*': string } }>('/image/*', options, async (request, reply) => {
    const key = request.params['*'];
    const image = key ? await app.services.images.get(key) : null;
    if (!image) throw new NotFoundError(`no image under the key ${JSON.stringify(key)}`);
    setStoredBytesHeaders(reply).header('etag', image.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === image.etag) return reply.code(304).send();
    return reply.type(servedType(image.contentType)).send(image.bytes);
  });
};
