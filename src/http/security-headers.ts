// Security headers for every listener, in one place.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, onErrorHookHandler, onRequestHookHandler } from 'fastify';
import type { HelmetOptions } from 'helmet';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route serves stored bytes and sets `storedBytesHeaders` itself: no page headers. */
    storedBytes?: boolean;
  }
}

/**
 * Pages, the JSON API and static files (web and manager listeners): helmet's headers with a
 * strict Content-Security-Policy. Scripts, styles and fonts come only from this origin (no
 * inline script, no inline style, no script attribute), nothing may frame a page, forms post
 * only here. Unlike helmet's default, no `upgrade-insecure-requests`: the roles are also served
 * over plain HTTP (a laptop, an EC2 host without a TLS proxy), where it would send every
 * stylesheet and script to an https:// origin that does not answer.
 */
export const pageHelmetOptions: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  xFrameOptions: { action: 'deny' },
};

/**
 * Responses whose body is stored bytes (an image, a cached value) rather than our own markup:
 * never sniffed, never run as a document (a sandboxed CSP that allows nothing), not readable
 * by other sites. These are the headers helmet sets with `{ contentSecurityPolicy: { useDefaults:
 * false, directives: { defaultSrc: ["'none'"], sandbox: [] } }, crossOriginResourcePolicy:
 * same-origin, xContentTypeOptions }` and every other part off (a test holds them to that),
 * written out once because they sit on the hot paths.
 */
export const storedBytesHeaders = Object.freeze({
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
});

export function setStoredBytesHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers(storedBytesHeaders);
}

/**
 * The headers helmet's middleware writes for `options`, collected once. With a policy that
 * has no per-request part (no nonces, no function directives) every answer gets the same set,
 * so building helmet's middleware per request (what @fastify/helmet does) is work for nothing.
 */
export async function helmetHeaders(options: HelmetOptions): Promise<Readonly<Record<string, string>>> {
  // Loaded here, not at the top: a cache node never needs it.
  const { default: helmet } = await import('helmet');
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return Object.freeze(headers);
}

/** Every cache-node answer carries the stored-bytes headers: a cache node serves no pages. */
const storedBytesHook: onRequestHookHandler = (_request, reply, done) => {
  reply.headers(storedBytesHeaders);
  done();
};

/**
 * Registers the listener's security headers on the root scope, so they also reach error
 * and not-found answers, from one synchronous hook with nothing per request to build.
 * Web and manager: helmet's headers for the page policy. A route that serves stored bytes
 * opts out with `config: { storedBytes: true }` and sends `storedBytesHeaders` itself; an
 * error on it is answered with an error page, which gets the page headers.
 * Cache: the stored-bytes headers.
 */
export async function registerSecurityHeaders(app: FastifyInstance, listener: 'web' | 'manager' | 'cache'): Promise<void> {
  if (listener === 'cache') {
    app.addHook('onRequest', storedBytesHook);
    return;
  }
  const pageHeaders = await helmetHeaders(pageHelmetOptions);
  const pageHeadersHook: onRequestHookHandler = (_request, reply, done) => {
    if (reply.routeOptions.config.storedBytes !== true) reply.headers(pageHeaders);
    done();
  };
  const errorPageHook: onErrorHookHandler = (_request, reply, _error, done) => {
    if (reply.routeOptions.config.storedBytes === true) reply.headers(pageHeaders);
    done();
  };
  app.addHook('onRequest', pageHeadersHook);
  app.addHook('onError', errorPageHook);
}
