import type { CacheNode } from '../pool/cache-node.js';
import { createHttpCacheNode } from '../pool/http-cache-node.js';
import type { ProvidedNode } from './node-provider.js';

export type HttpNodeOptions = { timeoutMs?: number | undefined; token?: string | undefined };

/**
 * How any process reaches a recorded node over HTTP. The caller owns the client it gets:
 * the pool closes the clients it routes to, the pool members module its temporary ones.
 */
export function httpNodeConnector({ timeoutMs, token }: HttpNodeOptions) {
  return ({ id, address }: ProvidedNode): CacheNode => {
    if (!/^https?:\/\//.test(address)) throw new Error(`cache node ${id} has address "${address}", not an http:// origin`);
    return createHttpCacheNode({ id, baseUrl: address, timeoutMs, token });
  };
}
