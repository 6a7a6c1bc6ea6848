import type { FastifyPluginAsync } from 'fastify';
import type { CacheStore } from '../../cache/cache-store.js';
import type { CacheEntry } from '../../cache/cache-types.js';
import { AppError, BadRequestError } from '../../http/app-error.js';
import { valueMetadataProblem } from '../../pool/cache-node-protocol.js';
import { decodeEntries, encodeEntries } from '../../pool/entry-frames.js';
import { acceptBinaryBodies, CACHE_BODY_LIMIT } from './binary-body.js';
import { BinarySchema, CountSchema, KeysBodySchema, type KeysBody } from './cache-schemas.js';

/** Bulk moves while the pool resizes; entries travel as one entry frame, not as JSON. */
export function cacheMigrationRoutes(store: CacheStore): FastifyPluginAsync {
  return async (app) => {
    acceptBinaryBodies(app);

    app.post<{ Body: KeysBody }>(
      '/export',
      { bodyLimit: CACHE_BODY_LIMIT, schema: { body: KeysBodySchema, response: { 200: BinarySchema } } },
      async (request, reply) => {
        const entries: CacheEntry[] = [];
        // peek: a migration read is not a lookup and must not make the entry look recently used.
        for (const key of request.body.keys) {
          const value = store.peek(key);
          if (value !== undefined) entries.push({ key, value });
        }
        return reply.type('application/octet-stream').send(encodeEntries(entries));
      },
    );

    app.post<{ Body: Buffer | undefined }>(
      '/import',
      { bodyLimit: CACHE_BODY_LIMIT, schema: { body: BinarySchema, response: { 200: CountSchema('stored') } } },
      async (request) => {
        if (request.headers['content-type'] !== 'application/octet-stream') {
          throw new AppError(415, 'an import is an entry frame (application/octet-stream)');
        }
        let entries: CacheEntry[];
        try {
          entries = decodeEntries(request.body ?? Buffer.alloc(0));
        } catch (error) {
          throw new BadRequestError((error as Error).message);
        }
        for (const { key, value } of entries) {
          const problem = valueMetadataProblem(value.contentType, value.etag);
          if (problem) throw new BadRequestError(`entry ${JSON.stringify(key.slice(0, 100))}: ${problem}; nothing imported`);
        }
        return { stored: store.importEntries(entries) };
      },
    );

    app.post<{ Body: KeysBody }>(
      '/remove',
      { bodyLimit: CACHE_BODY_LIMIT, schema: { body: KeysBodySchema, response: { 200: CountSchema('removed') } } },
      async (request) => ({ removed: store.removeEntries(request.body.keys) }),
    );
  };
}
