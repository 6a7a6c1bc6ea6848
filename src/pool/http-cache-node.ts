import { Pool, type Dispatcher } from 'undici';
import type { CacheStats } from '../cache/cache-stats.js';
import type { CacheValue } from '../cache/cache-types.js';
import type { CacheNode } from './cache-node.js';
import { CONTENT_TYPE_HEADER, ETAG_HEADER, keyPath, MISS, MISS_HEADER } from './cache-node-protocol.js';
import { decodeEntries, encodeEntries } from './entry-frames.js';

export interface HttpCacheNodeOptions {
  id: string;
  /** The node's origin, e.g. `http://10.0.0.7:8082`; paths are the cache role's. */
  baseUrl: string;
  /** Bounds connecting, waiting for headers, and each pause in a body. */
  timeoutMs?: number;
  /** Keep-alive connections held open to this node. */
  connections?: number;
}

type Response = Dispatcher.ResponseData;

const OCTETS = 'application/octet-stream';
const jsonBody = (payload: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });

const firstOf = (header: string | string[] | undefined): string =>
  (Array.isArray(header) ? header[0] : header) ?? '';

/** A cache-role process reached over HTTP; every failure rejects with an Error naming the node and the call. */
export function createHttpCacheNode({ id, baseUrl, timeoutMs = 1000, connections = 64 }: HttpCacheNodeOptions): CacheNode {
  // Short timeouts: a slow cache node is a failed one, and the caller falls back to the blob store.
  const pool = new Pool(baseUrl, {
    connections,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });

  const failure = (op: string, reason: string, cause?: unknown): Error =>
    new Error(`cache node ${id} (${baseUrl}): ${op} failed: ${reason}`, { cause });

  async function send(op: string, options: Dispatcher.RequestOptions): Promise<Response> {
    let response: Response;
    try {
      response = await pool.request(options);
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      throw failure(op, code ? `${code} ${message}` : message, error);
    }
    return response;
  }

  /** Drains the body of an unexpected answer into the error; the server's JSON says why. */
  async function unexpected(op: string, { statusCode, body }: Response): Promise<Error> {
    const text = await body.text().catch(() => '');
    let reason = text.slice(0, 300);
    try {
      reason = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? reason;
    } catch {
      // not JSON: keep the text
    }
    return failure(op, `HTTP ${statusCode}${reason ? `: ${reason}` : ''}`);
  }

  async function answer<T>(op: string, options: Dispatcher.RequestOptions): Promise<T> {
    const response = await send(op, options);
    if (response.statusCode !== 200) throw await unexpected(op, response);
    try {
      return (await response.body.json()) as T;
    } catch (error) {
      throw failure(op, `unreadable answer: ${(error as Error).message}`, error);
    }
  }

  async function binary(op: string, response: Response): Promise<Buffer> {
    if (response.statusCode !== 200) throw await unexpected(op, response);
    try {
      // undici gathers the body into one exactly-sized ArrayBuffer; wrapping it copies nothing.
      return Buffer.from(await response.body.arrayBuffer());
    } catch (error) {
      throw failure(op, `body not received: ${(error as Error).message}`, error);
    }
  }

  async function read(op: string, prefix: string, key: string): Promise<CacheValue | undefined> {
    const response = await send(op, { method: 'GET', path: keyPath(prefix, key) });
    if (response.statusCode === 404 && response.headers[MISS_HEADER] === MISS) {
      await response.body.dump();
      return undefined;
    }
    const bytes = await binary(op, response);
    return { bytes, contentType: firstOf(response.headers['content-type']), etag: firstOf(response.headers.etag) };
  }

  return {
    id,
    get: (key) => read('get', '/cache/', key),
    peek: (key) => read('peek', '/peek/', key),
    async put(key, { bytes, contentType, etag }) {
      const headers = { 'content-type': OCTETS, [CONTENT_TYPE_HEADER]: contentType, [ETAG_HEADER]: etag };
      const path = keyPath('/cache/', key);
      return (await answer<{ stored: boolean }>('put', { method: 'PUT', path, headers, body: bytes })).stored;
    },
    async invalidate(key) {
      await answer('invalidate', { method: 'DELETE', path: keyPath('/cache/', key) });
    },
    async clear() {
      await answer('clear', { method: 'DELETE', path: '/cache' });
    },
    async reconfigure({ capacityMb, policy }) {
      await answer('reconfigure', { method: 'PUT', path: '/config', ...jsonBody({ capacityMb, policy }) });
    },
    stats: () => answer<CacheStats>('stats', { method: 'GET', path: '/stats' }),
    keys: () => answer<string[]>('keys', { method: 'GET', path: '/keys' }),
    async exportEntries(keys) {
      const frame = await binary('export', await send('export', { method: 'POST', path: '/export', ...jsonBody({ keys }) }));
      try {
        return decodeEntries(frame);
      } catch (error) {
        throw failure('export', (error as Error).message, error);
      }
    },
    async importEntries(entries) {
      const request = { method: 'POST', path: '/import', headers: { 'content-type': OCTETS }, body: encodeEntries(entries) } as const;
      return (await answer<{ stored: number }>('import', request)).stored;
    },
    async removeEntries(keys) {
      return (await answer<{ removed: number }>('remove', { method: 'POST', path: '/remove', ...jsonBody({ keys }) })).removed;
    },
    async health() {
      try {
        const response = await pool.request({ method: 'GET', path: '/health' });
        await response.body.dump();
        return response.statusCode === 200;
      } catch {
        return false;
      }
    },
    close: () => pool.close(),
  };
}
