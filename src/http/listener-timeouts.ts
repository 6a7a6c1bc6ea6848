import { createServer, type RequestListener, type Server } from 'node:http';
import type { ListenerTimeouts } from '../config/config.js';

/**
 * Fastify's `serverFactory` for every listener: a client that sends its headers, its body or
 * nothing at all too slowly (a byte every few seconds holds a socket for ever otherwise) is
 * cut off. The request timeout bounds only receiving the request, not the handler's work;
 * the idle timeout bounds silence in both directions, so it stays above the longest handler
 * (a resize waits for the leader) and a load balancer's 60 s keep-alive.
 */
export function timeoutServerFactory({ requestTimeoutMs, headersTimeoutMs, idleTimeoutMs }: ListenerTimeouts) {
  return (handler: RequestListener): Server => {
    const server = createServer(
      {
        requestTimeout: requestTimeoutMs,
        headersTimeout: headersTimeoutMs,
        keepAliveTimeout: idleTimeoutMs,
        // Node checks the two timeouts above on this interval (30 s by default, which would add up to 30 s).
        connectionsCheckingInterval: Math.min(30_000, Math.max(100, headersTimeoutMs / 4)),
      },
      handler,
    );
    server.setTimeout(idleTimeoutMs);
    return server;
  };
}
