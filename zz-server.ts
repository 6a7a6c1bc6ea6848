import Fastify from 'fastify';
import { createCacheStore } from './src/cache/cache-store.js';
import { cacheRole } from './src/roles/cache/cache-role.js';
const store = createCacheStore({ capacityMb: 64, policy: 'LRU' });
const app = Fastify({ routerOptions: { maxParamLength: 4096 }, forceCloseConnections: true });
await app.register(cacheRole(store));
await app.listen({ port: 0, host: '127.0.0.1' });
for (let i = 0; i < 100; i++) store.put(`img-${i}`, { bytes: Buffer.alloc(30_000, i), contentType: 'image/png', etag: '"x"' });
console.log((app.server.address() as any).port);
