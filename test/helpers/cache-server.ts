import type { TestContext } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createCacheStore, type CacheStore } from '../../src/cache/cache-store.js';
import { registerErrorHandling } from '../../src/http/error-handler.js';
import type { CacheNode } from '../../src/pool/cache-node.js';
import { createHttpCacheNode, type HttpCacheNodeOptions } from '../../src/pool/http-cache-node.js';
import { cacheRole } from '../../src/roles/cache/cache-role.js';

/** A Fastify built like the app's cache listener, without the database; closed after the test. */
export async function listenOnLoopback(t: TestContext, setup: (app: FastifyInstance) => Promise<void>): Promise<string> {
  const app = Fastify({ routerOptions: { maxParamLength: 4096 }, forceCloseConnections: true });
  registerErrorHandling(app);
  await setup(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

export function newStore(capacityMb = 1): CacheStore {
  return createCacheStore({ capacityMb, policy: 'LRU' });
}

/** The cache role listening on a loopback port, plus an HTTP node speaking to it. */
export async function httpNodeFor(
  t: TestContext,
  store: CacheStore,
  options: Partial<HttpCacheNodeOptions> = {},
): Promise<CacheNode> {
  const baseUrl = await listenOnLoopback(t, async (app) => {
    await app.register(cacheRole(store));
  });
  const node = createHttpCacheNode({ id: 'node-http', baseUrl, ...options });
  t.after(() => node.close());
  return node;
}
