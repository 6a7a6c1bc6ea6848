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
  /** Deadline for one whole call: connecting, sending, and reading the answer. */
  timeoutMs?: number;
  /** Keep-alive connections held open to this node. */
  connections?: number;
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

type Request = Omit<Dispatcher.RequestOptions, 'signal'>;
type Response = Dispatcher.ResponseData;

const OCTETS = 'application/octet-stream';
const jsonBody = (payload: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
const firstOf = (header: string | string[] | undefined): string => (Array.isArray(header) ? header[0] : header) ?? '';

/** A cache-role process reached over HTTP; every failure rejects with a CacheNodeError. */
export function createHttpCacheNode({ id, baseUrl, timeoutMs = 1000, connections = 64 }: HttpCacheNodeOptions): CacheNode {
  // undici's own timeouts tick every ~500 ms, too coarse for a deadline of tens of
  // milliseconds; they stay as a backstop behind the per-call timer in `call`.
  const pool = new Pool(baseUrl, { connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: timeoutMs } });
  let closing: Promise<void> | undefined;

  const failure = (op: string, reason: string, cause?: unknown) =>
    new CacheNodeError(id, op, `cache node ${id} (${baseUrl}): ${op} failed: ${reason}`, { cause });

  /** One exchange under one deadline: a slow cache node is a failed one, and the caller falls back. */
  async function call<T>(op: string, request: Request, handle: (response: Response) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    try {
      return await handle(await pool.request(request));
    } catch (error) {
      if (error instanceof CacheNodeError) throw error;
      const { code, message } = error as { code?: string; message: string };
      throw failure(op, code ? `${code} ${message}` : message, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drains an unexpected answer into the error; the server's JSON error says why. */
  async function unexpected(op: string, { statusCode, body }: Response): Promise<CacheNodeError> {
    const text = await body.text().catch(() => '');
    let reason = text.slice(0, 300);
    try {
      reason = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? reason;
    } catch {
      // not JSON: keep the text
    }
    return failure(op, `HTTP ${statusCode}${reason ? `: ${reason}` : ''}`);
  }

  const json = <T>(op: string, request: Request) =>
    call(op, request, async (response) => {
      if (response.statusCode !== 200) throw await unexpected(op, response);
      return (await response.body.json()) as T;
    });

  async function bytes(op: string, response: Response): Promise<Buffer> {
    if (response.statusCode !== 200) throw await unexpected(op, response);
    // undici gathers the body into one exactly-sized ArrayBuffer; wrapping it copies nothing.
    return Buffer.from(await response.body.arrayBuffer());
  }

  const read = (op: string, prefix: string, key: string) =>
    call(op, { method: 'GET', path: keyPath(prefix, key) }, async (response): Promise<CacheValue | undefined> => {
      if (response.statusCode === 404 && response.headers[MISS_HEADER] === MISS) {
        await response.body.dump();
        return undefined;
      }
      const { headers } = response;
      return { bytes: await bytes(op, response), contentType: firstOf(headers['content-type']), etag: firstOf(headers.etag) };
    });

  return {
    id,
    get: (key) => read('get', '/cache/', key),
    peek: (key) => read('peek', '/peek/', key),
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
    exportEntries: (keys) =>
      call('export', { method: 'POST', path: '/export', ...jsonBody({ keys }) }, async (response) =>
        decodeEntries(await bytes('export', response)),
      ),
    async importEntries(entries) {
      const request = { method: 'POST', path: '/import', headers: { 'content-type': OCTETS }, body: encodeEntries(entries) } as const;
      return (await json<{ stored: number }>('import', request)).stored;
    },
    async removeEntries(keys) {
      return (await json<{ removed: number }>('remove', { method: 'POST', path: '/remove', ...jsonBody({ keys }) })).removed;
    },
    health: () =>
      call('health', { method: 'GET', path: '/health' }, async (response) => {
        await response.body.dump();
        return response.statusCode === 200;
      }).catch(() => false),
    // Idempotent: the pool and the app that built this node may both close it.
    close: () => (closing ??= pool.close()),
  };
}
