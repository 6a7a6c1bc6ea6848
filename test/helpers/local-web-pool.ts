// The local web pool as it runs: `emc start --role all` with EMC_WEB_POOL=cluster as its own OS
// process (the cluster primary, on the suite's PostgreSQL, reset first), serving once both ports
// answer; stopped after the test with every worker it was told about.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { postgresUrl, resetPostgres } from './database.js';
import { freePort, killAll, runEmc, waitForHealth, type EmcProcess } from './process.js';

const TOKEN = 'i16core-admin-token';

export type PoolWorker = { id: string; instanceId: string; address: string; state: string; healthy: boolean };

export type LocalWebPool = {
  readonly emc: EmcProcess;
  /** Origins of the manager and of the shared web port. */
  readonly manager: string;
  readonly web: string;
  /** The admin token's header. */
  readonly auth: { authorization: string };
  /** GET /api/workers, asserted to answer 200. */
  workers(): Promise<PoolWorker[]>;
  /** Worker processes to kill after the test, should the primary leave any behind. */
  track(pids: number[]): void;
};

/** `env`: the test's own settings (log level, intervals…) over the pool's. */
export async function startLocalWebPool(t: TestContext, { maxWorkers, env }: { maxWorkers: number; env: Record<string, string> }): Promise<LocalWebPool> {
  await resetPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-webpool-'));
  const [webPort, managerPort] = [await freePort(), await freePort()];
  const emc = runEmc(['start', '--role', 'all'], {
    DATABASE_URL: postgresUrl,
    EMC_DATA_DIR: dataDir,
    EMC_PROVIDER: 'process',
    EMC_WEB_POOL: 'cluster',
    EMC_MIN_WORKERS: '1',
    EMC_MAX_WORKERS: String(maxWorkers),
    EMC_WEB_PORT: String(webPort),
    EMC_MANAGER_PORT: String(managerPort),
    EMC_ADMIN_TOKEN: TOKEN,
    EMC_POOL_SYNC_MS: '200',
    EMC_RECONCILE_S: '1',
    EMC_WORKER_DRAIN_S: '10',
    ...env,
  });
  const tracked: number[] = [];
  t.after(async () => {
    emc.child.kill('SIGTERM');
    await Promise.race([emc.exited, new Promise((r) => setTimeout(r, 15_000))]);
    killAll([emc.child.pid!, ...tracked]);
    await rm(dataDir, { recursive: true, force: true });
  });
  const manager = `http://127.0.0.1:${managerPort}`;
  const web = `http://127.0.0.1:${webPort}`;
  const auth = { authorization: `Bearer ${TOKEN}` };
  await waitForHealth(`${manager}/health`, 60_000);
  await waitForHealth(`${web}/health`, 60_000);
  return {
    emc,
    manager,
    web,
    auth,
    async workers() {
      const response = await fetch(`${manager}/api/workers`, { headers: auth });
      assert.equal(response.status, 200, await response.clone().text());
      return ((await response.json()) as { workers: PoolWorker[] }).workers;
    },
    track: (pids) => void tracked.push(...pids),
  };
}
