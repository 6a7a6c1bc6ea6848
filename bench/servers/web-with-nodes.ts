// The web role with its pool made of cache-role processes over HTTP
// (argv: port, then the nodes' base URLs). The `process` provider will do this
// wiring itself; until then the benchmark builds the pool directly.
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createCachePool } from '../../src/pool/cache-pool.js';
import { createHttpCacheNode } from '../../src/pool/http-cache-node.js';

const [port, ...urls] = process.argv.slice(2);
const config = loadConfig({ ...process.env, EMC_ROLE: 'web', EMC_WEB_PORT: port });
const app = await buildApp(config, {
  overrides: {
    pool: createCachePool({
      nodes: urls.map((baseUrl, i) => createHttpCacheNode({ id: `cache-${i + 1}`, baseUrl, timeoutMs: config.cache.timeoutMs })),
      routing: config.cache.routing,
      log: (await import('pino')).pino({ level: 'warn' }),
    }),
  },
});
await app.listen({ port: config.ports.web, host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
