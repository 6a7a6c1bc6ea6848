// The web pool scaled by CPU, as it runs: `emc start --role all` with EMC_WEB_POOL=cluster as
// its own OS process, web workers forked by it, each publishing its CPU; the scaler grows the
// pool under a CPU-heavy load and shrinks it when idle, and the worker removed by the shrink is
// drained under a keep-alive load without failing a request.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './helpers/eventually.js';
import { keepAliveLoad } from './helpers/keep-alive-load.js';
import { test } from 'node:test';
import pg from 'pg';
import { resetPostgres, postgresUrl } from './helpers/database.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';
import { freePort, killAll, pidOf, runEmc, survivors, waitForHealth } from './helpers/process.js';

const TOKEN = 'i16core-admin-token';
const auth = { authorization: `Bearer ${TOKEN}` };



test('the local web pool grows under a CPU-heavy load and shrinks when idle, draining the removed worker without a failed request', { timeout: 300_000 }, async (t) => {
  await resetPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'i16core-autoscale-'));
  const [webPort, managerPort] = [await freePort(), await freePort()];
  const manager = `http://127.0.0.1:${managerPort}`;
  const web = `http://127.0.0.1:${webPort}`;
  const emc = runEmc(['start', '--role', 'all'], {
    DATABASE_URL: postgresUrl,
    EMC_DATA_DIR: dataDir,
    EMC_PROVIDER: 'process',
    EMC_WEB_POOL: 'cluster',
    EMC_MIN_WORKERS: '1',
    EMC_MAX_WORKERS: '2',
    EMC_WEB_PORT: String(webPort),
    EMC_MANAGER_PORT: String(managerPort),
    EMC_ADMIN_TOKEN: TOKEN,
    EMC_LOG_LEVEL: 'warn',
    EMC_POOL_SYNC_MS: '200',
    EMC_RECONCILE_S: '1',
    // A decision every second, on statistics every half second.
    EMC_SCALER_INTERVAL_S: '1',
    EMC_STATS_INTERVAL_S: '0.5',
    EMC_WORKER_DRAIN_S: '10',
  });
  const sql = new pg.Client({ connectionString: postgresUrl });
  let pids: number[] = [];
  t.after(async () => {
    emc.child.kill('SIGTERM');
    await Promise.race([emc.exited, new Promise((r) => setTimeout(r, 15_000))]);
    killAll([emc.child.pid!, ...pids]);
    await sql.end().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });
  const workers = async () => {
    const response = await fetch(`${manager}/api/workers`, { headers: auth });
    return ((await response.json()) as { workers: { id: string; instanceId: string; healthy: boolean }[] }).workers;
  };

  await waitForHealth(`${manager}/health`, 60_000);
  await waitForHealth(`${web}/health`, 60_000);
  await sql.connect();
  const upload = uploadForm('i16core/cat.png', images.png);
  assert.equal((await fetch(`${web}/api/upload`, { method: 'POST', headers: upload.headers, body: upload.payload })).status, 200);
  // Low thresholds: on a shared two-core machine a saturated worker may get well under one core.
  const policy = await fetch(`${manager}/api/workers/policy`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'auto', growCpu: 0.25, shrinkCpu: 0.1, growRatio: 2, shrinkRatio: 0.5, cooldownS: 3 }),
  });
  assert.equal(policy.status, 200, await policy.clone().text());

  const heavy = keepAliveLoad(`${web}/image/i16core/cat.png`, 16);
  const two = await eventually('the scaler grows the web pool to 2 workers', 90_000, async () => {
    const now = await workers();
    return now.length === 2 && now.every((w) => w.healthy) && now;
  });
  pids = two.map((w) => pidOf(w.instanceId));
  const grown = (await sql.query(`SELECT * FROM "ScalingEvent" WHERE pool = 'web' AND actor = 'scaler' AND "toNodes" > "fromNodes" ORDER BY id`)).rows;
  assert.ok(grown.length >= 1 && grown[0].cpu > 0.25 && /above 25\.0%/.test(grown[0].reason), JSON.stringify(grown[0]));
  const heavyResult = await heavy.stop();
  assert.deepEqual(heavyResult.failed.slice(0, 5), [], `${heavyResult.failed.length} of ${heavyResult.ok} requests failed while the pool grew`);

  // Idle but for a trickle of requests on keep-alive connections, which the drain must not fail.
  const light = keepAliveLoad(`${web}/image/i16core/cat.png`, 2, 100);
  const one = await eventually('the scaler shrinks the idle web pool to 1 worker', 200_000, async () => {
    const now = await workers();
    return now.length === 1 && now;
  });
  const lightBefore = light.result.ok;
  await eventually('the trickle goes on after the shrink', 10_000, async () => light.result.ok > lightBefore + 10);
  const lightResult = await light.stop();
  assert.deepEqual(lightResult.failed.slice(0, 5), [], `${lightResult.failed.length} of ${lightResult.ok} requests failed while a worker was removed`);

  const shrunk = (await sql.query(`SELECT * FROM "ScalingEvent" WHERE pool = 'web' AND actor = 'scaler' AND "toNodes" < "fromNodes" ORDER BY id`)).rows;
  assert.ok(shrunk.length >= 1 && shrunk[0].cpu < 0.1 && /below 10\.0%/.test(shrunk[0].reason), JSON.stringify(shrunk[0]));
  const removed = pids.filter((pid) => pid !== pidOf(one[0]!.instanceId));
  assert.deepEqual(await survivors(removed, 5000), [], 'the removed worker exited');
});
