// Cache nodes started by a manager (role manager, `process` provider) as they run: a node
// the database records outlives a crashed manager and is adopted by the next one, but a node
// the manager was still starting when it was SIGKILLed (no row records it yet) stops by
// itself instead of running on where no leader would ever find it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { postgresUrl, resetPostgres } from './helpers/database.js';
import { eventually } from './helpers/eventually.js';
import { alive, childrenOf, freePort, killAll, pidOf, runEmc, survivors, waitForHealth } from './helpers/process.js';

const isCacheNode = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('cache');

test('a manager SIGKILLed while starting cache nodes leaves none running; recorded nodes outlive it and are adopted', { timeout: 180_000 }, async (t) => {
  await resetPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-orphans-'));
  const sql = new pg.Client({ connectionString: postgresUrl });
  await sql.connect();
  const seen = new Set<number>();
  t.after(async () => {
    killAll([...seen]);
    await sql.end();
    await rm(dataDir, { recursive: true, force: true });
  });
  const env = {
    DATABASE_URL: postgresUrl,
    EMC_DATA_DIR: dataDir,
    EMC_PROVIDER: 'process',
    EMC_MIN_NODES: '2',
    EMC_LOG_LEVEL: 'warn',
    EMC_POOL_LOCK_TTL_S: '2',
    EMC_RECONCILE_S: '1',
    EMC_ADMIN_PASSWORD: 'a long enough password',
  };
  const manager = async () => {
    const port = await freePort();
    const proc = runEmc(['start', '--role', 'manager'], { ...env, EMC_MANAGER_PORT: String(port) });
    seen.add(proc.child.pid!);
    return { proc, port };
  };
  const recorded = async () =>
    (await sql.query<{ instanceId: string }>(`SELECT "instanceId" FROM "PoolNode" WHERE pool = 'cache' AND state = 'active'`)).rows.map((r) => pidOf(r.instanceId));

  // 1. Killed mid-start: the first cache-node process appears, then the manager is SIGKILLed.
  const first = await manager();
  const starting = await eventually('a cache node is being started', 60_000, async () => {
    const children = await childrenOf([first.proc.child.pid!]);
    children.forEach((pid) => seen.add(pid));
    const cacheNodes = (await Promise.all(children.map(async (pid) => ((await isCacheNode(pid)) ? pid : undefined)))).filter((p) => p !== undefined);
    return cacheNodes.length > 0 && cacheNodes;
  }, 10);
  first.proc.child.kill('SIGKILL');
  await first.proc.exited;
  const recordedAtKill = await recorded();
  assert.deepEqual(starting.filter((pid) => recordedAtKill.includes(pid)), [], 'the manager was killed before it recorded the nodes it was starting');
  assert.deepEqual(await survivors(starting, 15_000), [], 'a node no row records stops with the manager that started it');

  // 2. Recorded nodes: the next manager starts two; SIGKILLed, it leaves them running, and a third adopts them.
  const second = await manager();
  await waitForHealth(`http://127.0.0.1:${second.port}/health`, 60_000);
  const nodes = await eventually('two nodes recorded', 60_000, async () => {
    const pids = await recorded();
    return pids.length === 2 && pids;
  });
  nodes.forEach((pid) => seen.add(pid));
  second.proc.child.kill('SIGKILL');
  await second.proc.exited;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.ok(nodes.every(alive), 'recorded nodes outlive the manager that started them');
  const third = await manager();
  await waitForHealth(`http://127.0.0.1:${third.port}/health`, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.deepEqual((await recorded()).sort(), [...nodes].sort(), 'the next manager adopts them as they are');
  assert.ok(nodes.every(alive));
  third.proc.child.kill('SIGTERM');
  await third.proc.exited;
});
