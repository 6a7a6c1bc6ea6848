import Fastify from 'fastify';
import { Pool } from 'undici';
import { createCacheStore } from './src/cache/cache-store.js';
import { createHttpCacheNode } from './src/pool/http-cache-node.js';
import { createHttpCacheNode as noSignal } from './src/pool/zz-nosignal.js';
import { cacheRole } from './src/roles/cache/cache-role.js';
const store = createCacheStore({ capacityMb: 64, policy: 'LRU' });
const app = Fastify({ routerOptions: { maxParamLength: 4096 }, forceCloseConnections: true });
await app.register(cacheRole(store));
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as any).port}`;
for (let i = 0; i < 100; i++) store.put(`img-${i}`, { bytes: Buffer.alloc(30_000, i), contentType: 'image/png', etag: '"x"' });
const node = createHttpCacheNode({ id: 'n', baseUrl: base });
const node2 = noSignal({ id: 'n', baseUrl: base });
const raw = new Pool(base, { connections: 64 });
const rawGet = async (k: string) => { const r = await raw.request({ method: 'GET', path: '/cache/' + k }); return Buffer.from(await r.body.arrayBuffer()); };
async function run(name: string, fn: (k: string) => Promise<unknown>) {
  const N = 20000, C = 32; let i = 0; const t0 = performance.now();
  await Promise.all(Array.from({ length: C }, async () => { while (i < N) { await fn(`img-${i++ % 100}`); } }));
  console.log(name, Math.round(N / ((performance.now() - t0) / 1000)), 'req/s');
}
for (let r = 0; r < 3; r++) { await run('node.get ', (k) => node.get(k)); await run('nosignal ', (k) => node2.get(k)); await run('raw      ', rawGet); }
await node.close(); await node2.close(); await raw.close(); await app.close();
