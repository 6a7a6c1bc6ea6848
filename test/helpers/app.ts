import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions } from '../../src/app.js';
import type { ServiceOverrides } from '../../src/services.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { defaultDatabase, postgresUrl, resetPostgres, type TestDatabase } from './database.js';

export { databases, postgresUrl, resetPostgres, type TestDatabase } from './database.js';

export type TestApp = { app: FastifyInstance; config: Config; dataDir: string };

/** Builds the real app on a fresh data folder (and a wiped PostgreSQL schema), closed after the test. */
export async function buildTestApp(
  t: TestContext,
  {
    database = defaultDatabase,
    env = {},
    overrides,
    ...options
  }: {
    database?: TestDatabase;
    env?: Record<string, string>;
    /** Swaps real components for test doubles built from the test's own configuration. */
    overrides?: (config: Config) => ServiceOverrides;
  } & Omit<BuildOptions, 'overrides'> = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-test-'));
  if (database === 'postgres') await resetPostgres();
  const config = loadConfig({
    EMC_DATA_DIR: dataDir,
    EMC_LOG_LEVEL: 'silent',
    ...(database === 'postgres' ? { DATABASE_URL: postgresUrl } : {}),
    ...env,
  });
  const app = await buildApp(config, { ...options, overrides: overrides?.(config) });
  t.after(async () => {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { app, config, dataDir };
}

/** Every stored object file (temporary files excluded). */
export async function objectFiles(config: Config): Promise<string[]> {
  const entries = await readdir(config.blobStore.dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && !e.name.startsWith('.tmp-')).map((e) => e.name).sort();
}
