import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import { AppError } from '../http/app-error.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Management calls need `Authorization: Bearer <EMC_ADMIN_TOKEN>` when a token is configured. */
export function requireAdminToken(token: string | undefined): onRequestAsyncHookHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (request) => {
    if (!expected) return;
    const match = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '');
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new AppError(401, 'this management call needs the admin API token (Authorization: Bearer <token>)');
    }
  };
}
