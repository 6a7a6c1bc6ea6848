import { Pool } from 'undici';
import type { CacheStats } from '../cache/cache-stats.js';
import type { CacheValue } from '../cache/cache-types.js';
import type { CacheNode } from './cache-node.js';
import { CONTENT_TYPE_HEADER, ETAG_HEADER, keyPath, LOOKUPS_HEADER, MISS, MISS_HEADER } from './cache-node-protocol.js';
import { decodeEntries, encodeEntries } from './entry-frames.js';
import { exchange, type Exchange, type ExchangeRequest } from './exchange.js';
import { createLeanGetClient } from './lean-get.js';

export interface HttpCacheNodeOptions {
  id: string;
  /** The node's origin, e.g. `http://10.0.0.7:8082`; paths are the cache role's. */
  baseUrl: string;
  /** Deadline for one whole call: waiting for a connection, sending, and reading the answer. */
  timeoutMs?: number;
  /** Keep-alive connections held open to this node. */
  connections?: number;
  /** EMC_CACHE_TOKEN: sent as `Authorization: Bearer <token>` on every call. Never part of a message. */
  token?: string | undefined;
}

/** Why a call to a remote cache node failed; the message names the node and the operation. */
export class CacheNodeError extends Error {
  constructor(
    readonly nodeId: string,
    readonly operation: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CacheNodeError';
  }
}

const OCTETS = 'application/octet-stream';
const jsonBody = (payload: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
const firstOf = (header: string | string[] | undefined): string => (Array.isArray(header) ? header[0] : header) ?? '';

/** A cache-role process reached over HTTP; every failure rejects with a CacheNodeError. */
export function createHttpCacheNode({ id, baseUrl, timeoutMs = 1000, connections = 64, token }: HttpCacheNodeOptions): CacheNode {
  // undici's timeouts are coarse (see exchange.ts); they stay as a backstop behind each call's deadline.
  const pool = new Pool(baseUrl, { connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: timeoutMs } });
  // The hot path — GETs of entries, a hit's bytes — goes over sockets of its own (lean-get.ts);
  // every other call stays on undici. Over TLS, everything does.
  const origin = new URL(baseUrl);
  const lean =
    origin.protocol === 'http:'
      ? createLeanGetClient({
          host: origin.hostname.replace(/^\[|\]$/g, ''),
          port: Number(origin.port || 80),
          timeoutMs,
          connections,
          headers: token === undefined ? undefined : { authorization: `Bearer ${token}` },
        })
      : undefined;
  let closing: Promise<void> | undefined;
  // Built once: a GET (the hit path) sends exactly this object, other calls a copy with their own headers.
  const auth: Record<string, string> | undefined = token === undefined ? undefined : { authorization: `Bearer ${token}` };
  const withAuth = (request: ExchangeRequest): ExchangeRequest =>
    auth === undefined ? request : { ...request, headers: request.headers ? { ...(request.headers as Record<string, string>), ...auth } : auth };

  const failure = (op: string, reason: string, cause?: unknown) =>
    new CacheNodeError(id, op, `cache node ${id} (${baseUrl}): ${op} failed: ${reason}`, { cause });

  /** `entry`: a GET of one entry (a hit's bytes), the only call that takes the lean path. */
  async function call(op: string, request: ExchangeRequest, entry = false): Promise<Exchange> {
    try {
      if (lean && entry) return await lean.get(request.path, request.headers as Record<string, string> | undefined);
      return await exchange(pool, withAuth(request), timeoutMs);
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      throw failure(op, code ? `${code} ${message}` : message, error);
    }
  }

  /** A 200, or an error carrying what the server said (its JSON error message, if any). */
  function ok(op: string, answer: Exchange): Exchange {
    if (answer.statusCode === 200) return answer;
    const text = answer.body.toString('utf8', 0, 1000);
    let reason = text.slice(0, 300);
    try {
      reason = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? reason;
    } catch {
      // not JSON: keep the text
    }
    throw failure(op, `HTTP ${answer.statusCode}${reason ? `: ${reason}` : ''}`);
  }

  async function json<T>(op: string, request: ExchangeRequest): Promise<T> {
    const { body } = ok(op, await call(op, request));
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (error) {
      throw failure(op, `unreadable answer: ${(error as Error).message}`, error);
    }
  }

  async function read(op: string, prefix: string, key: string, current: CacheValue | undefined, lookups = 1): Promise<CacheValue | undefined> {
    const path = keyPath(prefix, key);
    const conditional = current ? { 'if-none-match': current.etag, ...(lookups > 1 ? { [LOOKUPS_HEADER]: String(lookups) } : {}) } : undefined;
    const answer = await call(op, conditional ? { method: 'GET', path, headers: conditional } : { method: 'GET', path }, true);
    const { statusCode, headers, body } = answer;
    if (statusCode === 304 && current) return current;
    if (statusCode === 404 && headers[MISS_HEADER] === MISS) return undefined;
    ok(op, answer);
    return { bytes: body, contentType: firstOf(headers['content-type']), etag: firstOf(headers.etag) };
  }

  return {
    id,
    get: (key, current, lookups) => read('get', '/cache/', key, current, lookups),
    peek: (key, current) => read('peek', '/peek/', key, current),
    async put(key, value) {
      const headers = { 'content-type': OCTETS, [CONTENT_TYPE_HEADER]: value.contentType, [ETAG_HEADER]: value.etag };
      const request = { method: 'PUT', path: keyPath('/cache/', key), headers, body: value.bytes } as const;
      return (await json<{ stored: boolean }>('put', request)).stored;
    },
    async invalidate(key) {
      await json('invalidate', { method: 'DELETE', path: keyPath('/cache/', key) });
    },
    async clear() {
      await json('clear', { method: 'DELETE', path: '/cache' });
    },
    async reconfigure({ capacityMb, policy }) {
      await json('reconfigure', { method: 'PUT', path: '/config', ...jsonBody({ capacityMb, policy }) });
    },
    stats: () => json<CacheStats>('stats', { method: 'GET', path: '/stats' }),
    keys: () => json<string[]>('keys', { method: 'GET', path: '/keys' }),
    async exportEntries(keys) {
      const { body } = ok('export', await call('export', { method: 'POST', path: '/export', ...jsonBody({ keys }) }));
      try {
        return decodeEntries(body);
      } catch (error) {
        throw failure('export', (error as Error).message, error);
      }
    },
    async importEntries(entries) {
      const request = { method: 'POST', path: '/import', headers: { 'content-type': OCTETS }, body: encodeEntries(entries) } as const;
      return (await json<{ stored: number }>('import', request)).stored;
    },
    async removeEntries(keys) {
      return (await json<{ removed: number }>('remove', { method: 'POST', path: '/remove', ...jsonBody({ keys }) })).removed;
    },
    health: () => call('health', { method: 'GET', path: '/health' }).then((answer) => answer.statusCode === 200, () => false),
    // Idempotent: the pool and the app that built this node may both close it.
    close: () => (closing ??= Promise.all([pool.close(), lean?.close()]).then(() => undefined)),
  };
}
