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
    const chunks: Buffer[] = [];
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
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
          length += chunk.length;
        },
        onResponseEnd() {
          clearTimeout(timer);
          // Chunks are views of the socket's read buffers: copy, so nothing keeps those alive.
          resolve({ statusCode, headers, body: Buffer.concat(chunks, length) });
        },
        onResponseError: (_controller, error) => fail(error),
      });
    } catch (error) {
      fail(error as Error);
    }
  });
}
