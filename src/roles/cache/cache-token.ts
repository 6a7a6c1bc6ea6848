import { timingSafeEqual } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { AppError } from '../../http/app-error.js';

const SCHEME = 'bearer ';

/**
 * With EMC_CACHE_TOKEN set, every cache-node call but the health check needs
 * `Authorization: Bearer <token>` (the nodes may share a network with other hosts).
 *
 * Synchronous and hash-free, because it runs on every cache hit: the presented token is
 * compared in constant time with timingSafeEqual after a length check, so a caller can learn
 * at most the token's length, never its content (src/api/admin-token.ts digests both sides
 * instead, a few microseconds more, which a management call can afford and a hit should not).
 */
export function requireCacheToken(token: string | undefined): onRequestHookHandler | undefined {
  if (token === undefined) return undefined;
  const expected = Buffer.from(token, 'utf8');
  return (request, _reply, done) => {
    if (request.routeOptions.url === '/health' && (request.method === 'GET' || request.method === 'HEAD')) return done();
    const header = request.headers.authorization;
    if (header !== undefined && header.length > SCHEME.length && header.slice(0, SCHEME.length).toLowerCase() === SCHEME) {
      const given = Buffer.from(header.slice(SCHEME.length), 'utf8');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return done();
    }
    done(new AppError(401, 'this cache node needs its token (Authorization: Bearer <EMC_CACHE_TOKEN>)'));
  };
}
