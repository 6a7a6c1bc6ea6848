import type { FastifyInstance } from 'fastify';
import { createCacheStore } from '../../cache/cache-store.js';
import { DEFAULT_CACHE_CONFIG } from '../../cache/cache-types.js';
import type { Config } from '../../config/config.js';
import { registerErrorHandling } from '../../http/error-handler.js';
import { registerSecurityHeaders } from '../../http/security-headers.js';
import { cacheRole } from './cache-role.js';
import { createReceiveBufferCollector } from './receive-buffer-collector.js';

type GcFunction = () => void;

/**
 * A cache node is memory and its HTTP API, nothing else: no database, no metrics client,
 * no credentials. The pool's manager sends it the shared configuration before it joins
 * (and again on every reconcile, so a restarted node is brought back in line) and reads
 * its statistics over /stats; until then it runs the defaults and holds nothing.
 */
export async function registerCacheNode(app: FastifyInstance, config: Config): Promise<void> {
  const store = createCacheStore(DEFAULT_CACHE_CONFIG);
  if (!config.cache.token && !['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
    app.log.warn(`EMC_CACHE_TOKEN is not set: this cache node answers anyone who can reach ${config.host}:${config.ports.cache}`);
  }
  // Only when the process runs with --expose-gc (how every cache node is started); a node
  // run without it leaves collections to V8's own schedule.
  const gc = (globalThis as { gc?: GcFunction }).gc;
  if (gc) {
    const collector = createReceiveBufferCollector({ collect: () => gc() });
    app.addHook('preHandler', (request, _reply, done) => {
      if (Buffer.isBuffer(request.body)) collector.received(request.body.length);
      done();
    });
    app.addHook('onClose', (_app, done) => {
      collector.close();
      done();
    });
  }
  await registerSecurityHeaders(app, 'cache');
  registerErrorHandling(app);
  await app.register(cacheRole(store, { token: config.cache.token }));
}
