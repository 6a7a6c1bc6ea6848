// Security headers for every listener, in one place.
import type { FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, onRequestHookHandler } from 'fastify';

/**
 * Pages, the JSON API and static files (web and manager listeners): helmet's headers with a
 * strict Content-Security-Policy. Scripts, styles and fonts come only from this origin (no
 * inline script, no inline style, no script attribute), nothing may frame a page, forms post
 * only here. Unlike helmet's default, no `upgrade-insecure-requests`: the roles are also served
 * over plain HTTP (a laptop, an EC2 host without a TLS proxy), where it would send every
 * stylesheet and script to an https:// origin that does not answer.
 */
export const pageHelmetOptions: FastifyHelmetOptions = {
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
 * written out once because they sit on the hot paths: @fastify/helmet rebuilds helmet's
 * middleware on every request, a few microseconds that a cache hit should not pay.
 */
export const storedBytesHeaders = Object.freeze({
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
});

export function setStoredBytesHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers(storedBytesHeaders);
}

/** Every cache-node answer carries the stored-bytes headers: a cache node serves no pages. */
const storedBytesHook: onRequestHookHandler = (_request, reply, done) => {
  reply.headers(storedBytesHeaders);
  done();
};

/**
 * Registers the listener's security headers on the root scope, so they also reach error
 * and not-found answers. Web and manager: @fastify/helmet with the page policy (a route that
 * serves stored bytes opts out with `helmet: false` and sends `storedBytesHeaders` itself).
 * Cache: the stored-bytes headers from one synchronous hook, nothing per request to build.
 */
export async function registerSecurityHeaders(app: FastifyInstance, listener: 'web' | 'manager' | 'cache'): Promise<void> {
  if (listener === 'cache') {
    app.addHook('onRequest', storedBytesHook);
    return;
  }
  // Loaded here, not at the top: a cache node never needs it.
  const { default: fastifyHelmet } = await import('@fastify/helmet');
  await app.register(fastifyHelmet, pageHelmetOptions);
}
