import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';

export type RunningApp = { web: FastifyInstance; manager: FastifyInstance; webUrl: string; managerUrl: string };

/** Role `all` on real loopback ports (a browser needs a socket), closed after the test. */
export async function startAll(t: TestContext, env: Record<string, string> = {}): Promise<RunningApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-e2e-'));
  const config = loadConfig({ EMC_DATA_DIR: dataDir, EMC_LOG_LEVEL: 'warn', ...env });
  const web = await buildApp(config, { listener: 'web' });
  const manager = await buildApp(config, { listener: 'manager', services: web.services });
  t.after(async () => {
    await manager.close();
    await web.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const webUrl = await web.listen({ host: '127.0.0.1', port: 0 });
  const managerUrl = await manager.listen({ host: '127.0.0.1', port: 0 });
  return { web, manager, webUrl, managerUrl };
}
