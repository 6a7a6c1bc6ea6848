import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { CacheStore } from '../../cache/cache-store.js';
import type { CacheValue } from '../../cache/cache-types.js';
import { CONTENT_TYPE_HEADER, CONTENT_TYPE_PATTERN, ETAG_HEADER, ETAG_PATTERN, LOOKUPS_HEADER, MAX_LOOKUPS, MISS, MISS_HEADER } from '../../pool/cache-node-protocol.js';
import { acceptBinaryBodies, CACHE_BODY_LIMIT } from './binary-body.js';
import { BinarySchema, FlagSchema, KeyParamsSchema, type KeyParams } from './cache-schemas.js';

type PutHeaders = { [CONTENT_TYPE_HEADER]: string; [ETAG_HEADER]: string };

const read: RouteShorthandOptions = {
  schema: {
    params: KeyParamsSchema,
    response: { 200: BinarySchema, 304: { type: 'null', description: 'the If-None-Match ETag is the stored version' }, 404: { type: 'null', description: `a miss; the ${MISS_HEADER} header says "${MISS}"` } },
  },
};
const lookup: RouteShorthandOptions = {
  schema: {
    ...read.schema,
    headers: { type: 'object', properties: { [LOOKUPS_HEADER]: { type: 'integer', minimum: 1, maximum: MAX_LOOKUPS } } },
  },
};
const write: RouteShorthandOptions = {
  bodyLimit: CACHE_BODY_LIMIT,
  schema: {
    params: KeyParamsSchema,
    headers: {
      type: 'object',
      required: [CONTENT_TYPE_HEADER, ETAG_HEADER],
      properties: {
        [CONTENT_TYPE_HEADER]: { type: 'string', pattern: CONTENT_TYPE_PATTERN },
        [ETAG_HEADER]: { type: 'string', pattern: ETAG_PATTERN },
      },
    },
    body: BinarySchema,
    response: { 200: FlagSchema('stored') },
  },
};
const invalidate: RouteShorthandOptions = { schema: { params: KeyParamsSchema, response: { 200: FlagSchema('invalidated') } } };
const clear: RouteShorthandOptions = { schema: { response: { 200: FlagSchema('cleared') } } };

// Not async, and a miss is not an error: this is the hot path, so no promise, no
// thrown error and no log line per request. A caller holding the current version
// (a web tier's near cache sends its ETag) gets a 304 without the bytes.
function sendValue(request: FastifyRequest, reply: FastifyReply, value: CacheValue | undefined): void {
  if (value === undefined) {
    reply.code(404).header(MISS_HEADER, MISS).send();
    return;
  }
  reply.header('etag', value.etag);
  if (request.headers['if-none-match'] === value.etag) reply.code(304).send();
  else reply.header('content-type', value.contentType).send(value.bytes);
}

/** Reads and writes single entries: `/cache/<key>` (counted) and `/peek/<key>` (not). */
export function cacheRoutes(store: CacheStore): FastifyPluginAsync {
  return async (app) => {
    acceptBinaryBodies(app);

    app.get<{ Params: KeyParams; Headers: { [LOOKUPS_HEADER]?: number } }>('/cache/*', lookup, (request, reply) => {
      sendValue(request, reply, store.get(request.params['*'], request.headers[LOOKUPS_HEADER]));
    });

    app.get<{ Params: KeyParams }>('/peek/*', read, (request, reply) => {
      sendValue(request, reply, store.peek(request.params['*']));
    });

    app.put<{ Params: KeyParams; Headers: PutHeaders; Body: Buffer | undefined }>('/cache/*', write, async (request) => {
      const value: CacheValue = {
        // An empty body never reaches the parser.
        bytes: request.body ?? Buffer.alloc(0),
        contentType: request.headers[CONTENT_TYPE_HEADER],
        etag: request.headers[ETAG_HEADER],
      };
      return { stored: store.put(request.params['*'], value) };
    });

    app.delete<{ Params: KeyParams }>('/cache/*', invalidate, async (request) => ({
      invalidated: store.invalidate(request.params['*']),
    }));

    app.delete('/cache', clear, async () => {
      store.clear();
      return { cleared: true };
    });
  };
}
