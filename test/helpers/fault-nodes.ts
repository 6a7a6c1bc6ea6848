// Cache nodes that misbehave, for the fault tests: a real cache role on loopback whose
// answers can be delayed, and a provider that puts such a node into the app's pool.
import type { TestContext } from 'node:test';
import { createCacheStore } from '../../src/cache/cache-store.js';
import { createHttpCacheNode } from '../../src/pool/http-cache-node.js';
import { cacheRole } from '../../src/roles/cache/cache-role.js';
import { createInProcessProvider } from '../../src/scaling/inprocess-provider.js';
import type { NodeProvider, ProvidedNode } from '../../src/scaling/node-provider.js';
import { listenOnLoopback } from './cache-server.js';

export type SlowServer = {
  baseUrl: string;
  /** Delay of GET /cache/* and GET /health, in ms; change it at any time (0 = answer at once). */
  delayMs: number;
  /** Requests received so far, by kind. */
  counts: { lookups: number; health: number; other: number };
  /** The most requests that were in the server at once. */
  maxInFlight: number;
};

/**
 * A cache role (a real store) on a loopback port whose look-ups and health checks wait
 * `delayMs` before answering, like a node stalled by swapping or a long GC pause.
 * Waiting requests are let go when the test ends.
 */
export async function slowCacheServer(t: TestContext, delayMs: number): Promise<SlowServer> {
  const closing = new AbortController();
  t.after(() => closing.abort());
  const server: SlowServer = { baseUrl: '', delayMs, counts: { lookups: 0, health: 0, other: 0 }, maxInFlight: 0 };
  const inFlight = new Set<string>();
  server.baseUrl = await listenOnLoopback(t, async (app) => {
    app.addHook('onRequest', async (request) => {
      inFlight.add(request.id);
      server.maxInFlight = Math.max(server.maxInFlight, inFlight.size);
      const lookup = request.method === 'GET' && request.url.startsWith('/cache/');
      const health = request.method === 'GET' && request.url === '/health';
      server.counts[lookup ? 'lookups' : health ? 'health' : 'other']++;
      if ((lookup || health) && server.delayMs > 0 && !closing.signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, server.delayMs);
          closing.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    });
    app.addHook('onResponse', async (request) => {
      inFlight.delete(request.id);
    });
    // A request whose client gave up (a timed-out look-up) may never get an onResponse.
    app.addHook('onRequestAbort', async (request) => {
      inFlight.delete(request.id);
    });
    await app.register(cacheRole(createCacheStore({ capacityMb: 16, policy: 'LRU' })));
  });
  return server;
}

/**
 * In-process shards, except the ids in `remote`, which are the HTTP nodes at those
 * origins (reached with `timeoutMs`, like the process and EC2 providers do).
 */
export function providerWithRemoteNodes(remote: Record<string, string>, timeoutMs: number): NodeProvider {
  const shards = createInProcessProvider();
  const running = new Map<string, ProvidedNode>();
  return {
    kind: 'inprocess',
    list: async () => [...(await shards.list()), ...running.values()],
    async start(id) {
      const address = remote[id];
      if (!address) return shards.start(id);
      const node = { id, instanceId: `remote:${id}`, address };
      running.set(id, node);
      return { ...node };
    },
    async stop(id) {
      running.delete(id);
      await shards.stop(id);
    },
    connect: (node) => (node.address.startsWith('http') ? createHttpCacheNode({ id: node.id, baseUrl: node.address, timeoutMs }) : shards.connect(node)),
    close: () => shards.close(),
  };
}
