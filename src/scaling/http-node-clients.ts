import type { CacheNode } from '../pool/cache-node.js';
import { createHttpCacheNode } from '../pool/http-cache-node.js';
import type { ProvidedNode } from './node-provider.js';

/**
 * The HTTP clients a provider of remote nodes hands out with `connect`, kept so that
 * closing the provider releases every one still open.
 */
export function createHttpNodeClients({ timeoutMs, token }: { timeoutMs?: number | undefined; token?: string | undefined }) {
  const clients = new Set<CacheNode>();
  return {
    connect({ id, address }: ProvidedNode): CacheNode {
      if (!/^https?:\/\//.test(address)) throw new Error(`cache node ${id} has address "${address}", not an http:// origin`);
      const client = createHttpCacheNode({ id, baseUrl: address, timeoutMs, token });
      clients.add(client);
      return {
        ...client,
        close: () => {
          clients.delete(client);
          return client.close();
        },
      };
    },
    async closeAll(): Promise<void> {
      await Promise.all([...clients].map((client) => client.close()));
      clients.clear();
    },
  };
}
