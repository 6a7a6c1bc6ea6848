import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

export interface Exchange {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** The whole answer, copied out of the socket's buffers. */
  body: Buffer;
}

export type ExchangeRequest = Pick<Dispatcher.DispatchOptions, 'method' | 'path' | 'headers' | 'body'>;

/**
 * One request whose answer is gathered into a single Buffer, under one deadline for
 * the whole exchange (queueing, connecting, sending, reading).
 *
 * Lower-level than undici's `request()` on purpose: its body stream and an
 * AbortSignal cost about a fifth of the client CPU of a cache hit, and undici's own
 * headers/body timeouts tick only every ~0.5 s, too coarse for a tens-of-ms deadline.
 */
export function exchange(dispatcher: Dispatcher, request: ExchangeRequest, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let expired: Error | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    // With a Content-Length (every answer of a cache node), the body is copied straight into
    // one Buffer of that size: no list of chunks, no join. Otherwise chunks are joined at the end.
    let body: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let length = 0;

    const timer = setTimeout(() => {
      expired = new Error(`timed out after ${timeoutMs} ms`);
      // Still queued in the pool: it is aborted the moment it reaches a socket.
      controller?.abort(expired);
      reject(expired);
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };

    try {
      dispatcher.dispatch(request, {
        onRequestStart(started) {
          controller = started;
          if (expired) started.abort(expired);
        },
        onResponseStart(_controller, status, responseHeaders) {
          statusCode = status;
          headers = responseHeaders;
          const declared = declaredLength(responseHeaders['content-length']);
          if (declared === undefined) chunks = [];
          else body = Buffer.allocUnsafe(declared);
        },
        onResponseData(responding, chunk) {
          if (chunks) chunks.push(chunk);
          else if (length + chunk.length > body!.length) {
            // undici stops at the declared length; this is a second line of defence.
            return responding.abort(new Error(`answer longer than its Content-Length ${body!.length}`));
          } else chunk.copy(body!, length);
          length += chunk.length;
        },
        onResponseEnd() {
          clearTimeout(timer);
          // Chunks are views of the socket's read buffers: copied, so nothing keeps those alive.
          if (chunks) resolve({ statusCode, headers, body: Buffer.concat(chunks, length) });
          else if (length !== body!.length) reject(new Error(`answer of ${length} bytes, ${body!.length} declared`));
          else resolve({ statusCode, headers, body: body! });
        },
        onResponseError: (_controller, error) => fail(error),
      });
    } catch (error) {
      fail(error as Error);
    }
  });
}

/** Above this, memory is taken as the bytes arrive, not on a header's word. */
const PREALLOCATED_MAX = 16 * 1024 * 1024;

/** A Content-Length to preallocate for, or undefined (none, not one number, or too large). */
function declaredLength(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,9}$/.test(header)) return undefined;
  const length = Number(header);
  return length <= PREALLOCATED_MAX ? length : undefined;
}
