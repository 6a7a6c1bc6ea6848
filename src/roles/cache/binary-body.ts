import type { FastifyInstance } from 'fastify';

/** Upper bound for one request body: a single image, or one migration batch of entries. */
export const CACHE_BODY_LIMIT = 64 * 1024 * 1024;

/**
 * Makes every non-JSON body in the calling plugin's scope arrive as one Buffer:
 * images and entry frames are binary, and base64-in-JSON would cost a third more
 * bytes plus an encode and a decode on every put. Text is taken as bytes too, so
 * an image stored as `text/plain` by some client is not turned into a string.
 */
export function acceptBinaryBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: CACHE_BODY_LIMIT }, (_request, body, done) => {
    done(null, body);
  });
}
