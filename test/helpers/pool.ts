import pino from 'pino';
import { createCacheStore } from '../../src/cache/cache-store.js';
import type { CachePolicy, CacheValue } from '../../src/cache/cache-types.js';
import type { CacheNode } from '../../src/pool/cache-node.js';
import { createInProcessCacheNode } from '../../src/pool/inprocess-cache-node.js';
import type { Db } from '../../src/db/database.js';
import type { ProvidedNode } from '../../src/scaling/node-provider.js';

export const silentLog = pino({ level: 'silent' });

export function inProcessNodes(count: number, capacityMb = 1, policy: CachePolicy = 'LRU', first = 1): CacheNode[] {
  return Array.from({ length: count }, (_, i) =>
    createInProcessCacheNode(`node-${first + i}`, createCacheStore({ capacityMb, policy })),
  );
}

export function valueOf(key: string, size: number): CacheValue {
  const bytes = Buffer.alloc(size, key.length % 251);
  bytes.write(key);
  return { bytes, contentType: 'image/png', etag: `"${key}"` };
}

/** A node whose operations fail while `down.on` is set (a crashed or unreachable process). */
export function flaky(node: CacheNode, down: { on: boolean }): CacheNode {
  return new Proxy(node, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver);
      if (typeof real !== 'function' || prop === 'close') return real;
      if (prop === 'health') return () => Promise.resolve(!down.on);
      return (...args: unknown[]) => (down.on ? Promise.reject(new Error(`${target.id} is down`)) : real.apply(target, args));
    },
  });
}

/** A node whose migration reads wait for `gate` to open, so a test can look inside a running resize. */
export function gated(node: CacheNode, gate: Promise<void>): CacheNode {
  return new Proxy(node, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver);
      if (prop !== 'exportEntries') return real;
      return async (...args: unknown[]) => {
        await gate;
        return real.apply(target, args);
      };
    },
  });
}

/** Records members as a leader would (a new membership version), without holding the lease: a test's stand-in for another manager. */
export async function recordMembers(db: Db, joined: readonly ProvidedNode[]): Promise<void> {
  await db.$transaction([
    ...joined.map((n) => db.poolNode.create({ data: { id: n.id, instanceId: n.instanceId, address: n.address, state: 'active' } })),
    db.poolState.upsert({ where: { id: 1 }, create: { id: 1, version: 1 }, update: { version: { increment: 1 } } }),
  ]);
}
