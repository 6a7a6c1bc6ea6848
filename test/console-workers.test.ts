import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { MinuteCharts } from '../src/roles/manager/dashboard-data.js';
import { createInProcessProvider } from '../src/scaling/inprocess-provider.js';
import { loadScalerPolicy, saveScalerPolicy } from '../src/scaling/scaler-policy-store.js';
import { loadWorkerPolicy } from '../src/scaling/worker-policy-store.js';
import { buildTestApp } from './helpers/app.js';
import { consoleEnv, loggedIn, type ConsoleClient } from './helpers/console.js';
import { fakeMembers } from './helpers/fake-members.js';
import { HttpConsoleClient } from './helpers/http-console.js';
import { alive, freePort, killAll, runEmc, survivors, waitForHealth } from './helpers/process.js';

const MINUTE = 60_000;

/** A manager with a local web pool (which needs cache nodes outside the workers' processes). */
const webPoolEnv = { ...consoleEnv, EMC_WEB_POOL: 'cluster', EMC_PROVIDER: 'process', EMC_STATS_INTERVAL_S: '3600' };

/**
 * The console in-process, so its forms are driven with inject: workers are fakes of this process
 * and the cache nodes in-process shards (a cluster worker would inherit the test runner's
 * environment, not the test's). The real processes are the last test's.
 */
async function workersApp(t: TestContext, env: Record<string, string> = {}, shutdown?: () => void) {
  const workers = fakeMembers('console-test');
  const built = await buildTestApp(t, {
    listener: 'manager',
    env: { ...webPoolEnv, ...env },
    overrides: () => ({ provider: createInProcessProvider(), workerProvider: workers }),
    shutdown,
  });
  return { ...built, workers };
}

/** Posts a form the way a browser does and returns the page it is redirected to. */
async function submit(client: ConsoleClient, url: string, fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const res = await client.post(url, fields, { csrfFrom: '/workers' });
  assert.equal(res.statusCode, 302, `${url}: ${res.body}`);
  return client.get(res.headers.location as string);
}

/** The leader brings the web pool to its size in the background. */
async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the web pool');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const flash = (page: LightMyRequestResponse) => /<p class="notice (success|error) flash"[^>]*>([^<]*)<\/p>/.exec(page.body)?.slice(1, 3);
const workerIds = (page: LightMyRequestResponse) => [...page.body.matchAll(/data-worker="([^"]+)"/g)].map((m) => m[1]);
const activeWorkers = async (app: FastifyInstance) =>
  (await app.services.db.poolNode.findMany({ where: { pool: 'web', leaving: false }, orderBy: { id: 'asc' } })).map((r) => r.id);

test('without a web pool the page says so and how to turn it on; actions and details are refused', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const client = await loggedIn(app);
  const page = await client.get('/workers');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<h1>Workers<\/h1>/);
  assert.match(page.body, /The web pool is not configured\./);
  assert.match(page.body, /EMC_WEB_POOL=cluster/);
  assert.doesNotMatch(page.body, /<table/, 'not an empty table');
  assert.doesNotMatch(page.body, /\+1 worker/);

  const refused = await submit(client, '/workers/grow');
  assert.deepEqual(flash(refused), ['error', 'The web pool is not configured (EMC_WEB_POOL is none); nothing was done.']);
  assert.equal((await client.get('/workers/worker-1')).statusCode, 404);
  assert.doesNotMatch((await client.get('/dashboard')).body, /data-series="cpu"/, 'no web pool charts on the dashboard');

  assert.match((await client.get('/danger')).body, /There is no web pool here \(EMC_WEB_POOL=none\), so there is no worker to stop\./);
  const stopped = await client.post('/danger/stop-everything', { confirm: 'yes' }, { csrfFrom: '/danger' });
  assert.equal(stopped.statusCode, 200, stopped.body);
  assert.match(stopped.body, /Stopped 1 node \(there is no web pool\); both pools are at 0 in manual mode\./);
  assert.match(stopped.body, /was not started by <code>emc start<\/code>, so its process is left running/, 'an app built without a way to stop its process says so');
  assert.equal(await app.services.requests.actual(), 0);
});

test('workers: the list, +1 and −1 within the bounds, the state filter, and destroying one chosen worker', async (t) => {
  const { app, workers } = await workersApp(t, { EMC_MAX_WORKERS: '3' });
  const client = await loggedIn(app);
  await app.ready();
  await waitFor(async () => (await activeWorkers(app)).length === 1);
  const first = await client.get('/workers');
  assert.equal(first.statusCode, 200);
  assert.deepEqual(workerIds(first), ['worker-1'], 'the web pool starts at its minimum');
  const row = /<tr class="[^"]*" data-worker="worker-1">([\s\S]*?)<\/tr>/.exec(first.body)![1]!;
  assert.match(row, /<a href="\/workers\/worker-1">/);
  assert.match(row, /<td>active<\/td>/);
  assert.match(row, /badge good">healthy</, 'the worker answers its health route');
  assert.match(row, /no report in the last 2 minutes/, 'no statistics yet: said, not zeros');

  const atMin = await submit(client, '/workers/shrink');
  assert.deepEqual(flash(atMin), ['error', 'The web pool cannot shrink below its minimum of 1 worker.']);
  const grown = await submit(client, '/workers/grow');
  assert.equal(flash(grown)![0], 'success', flash(grown)![1]);
  assert.deepEqual(workerIds(grown), ['worker-1', 'worker-2']);
  const third = await submit(client, '/workers/grow');
  assert.deepEqual(workerIds(third), ['worker-1', 'worker-2', 'worker-3'], flash(third)?.[1]);
  const atMax = await submit(client, '/workers/grow');
  assert.deepEqual(flash(atMax), ['error', 'The web pool cannot grow above its maximum of 3 workers.']);
  assert.deepEqual(await activeWorkers(app), ['worker-1', 'worker-2', 'worker-3']);

  const unticked = await submit(client, '/workers/destroy', { id: 'worker-2' });
  assert.deepEqual(flash(unticked), ['error', 'Tick the box to confirm destroying worker-2; nothing was done.']);
  assert.deepEqual(await activeWorkers(app), ['worker-1', 'worker-2', 'worker-3']);
  const destroyed = await submit(client, '/workers/destroy', { id: 'worker-2', confirm: 'yes' });
  assert.equal(flash(destroyed)![0], 'success', flash(destroyed)![1]);
  assert.match(flash(destroyed)![1], /worker-2/);
  assert.deepEqual(workerIds(destroyed), ['worker-1', 'worker-3'], 'exactly the chosen worker went');
  const unknown = await submit(client, '/workers/destroy', { id: 'worker-9', confirm: 'yes' });
  assert.deepEqual(flash(unknown), ['error', 'The web pool has no active worker worker-9.']);

  const history = destroyed.body.slice(destroyed.body.indexOf('Scaling history'));
  assert.match(history, /<td>operator<\/td><td class="nowrap">3 → 2<\/td><td class="num">—<\/td><td>console: destroy worker-2<\/td>/);
  assert.match(history, /<td>operator<\/td><td class="nowrap">1 → 2<\/td><td class="num">—<\/td><td>console \+1<\/td>/);
  assert.doesNotMatch(history, /node/, 'only the web pool’s decisions');

  // A stop the leader has not applied yet (another manager holds the lease and stalls) leaves its worker
  // leaving; a worker that fails its health check is unhealthy. The filter shows each.
  await app.services.db.poolState.update({
    where: { id: 1 },
    data: { leaderId: 'stalled-host:4242:leader', leaderGeneration: { increment: 1 }, leaseExpiresAt: new Date(Date.now() + 60_000) },
  });
  await app.services.db.poolNode.update({ where: { id: 'worker-3' }, data: { leaving: true } });
  workers.running.delete('worker-1'); // its process died; the stalled leader has not noticed
  const leaving = await client.get('/workers?state=leaving');
  assert.deepEqual(workerIds(leaving), ['worker-3']);
  assert.match(leaving.body, /<option value="leaving" selected>leaving \(1\)<\/option>/);
  assert.match(leaving.body, /Showing 1 of 2/);
  assert.deepEqual(workerIds(await client.get('/workers?state=active')), ['worker-1']);
  const unhealthy = await client.get('/workers?state=unhealthy');
  assert.deepEqual(workerIds(unhealthy), ['worker-1']);
  assert.match(unhealthy.body, /<tr class="row-error" data-worker="worker-1">[\s\S]*?badge bad">not answering</);
  assert.equal((await client.get('/workers?state=sideways')).statusCode, 400);

  // A worker's figures are those of its last full minute (the current one is still being counted).
  const lastMinute = new Date(Math.floor(Date.now() / MINUTE) * MINUTE - 30_000);
  await app.services.db.workerSample.create({ data: workerSample('worker-3', lastMinute, { cpu: 0.25, requests: 1234, bytesIn: 1, bytesOut: 1 }) });
  const all = await client.get('/workers');
  assert.deepEqual(workerIds(all), ['worker-1', 'worker-3']);
  assert.match(all.body, /data-worker="worker-3">[\s\S]*?<td class="num">25.0%<\/td><td class="num">1,234<\/td>/);
});

test('workers: the policy form shows every reason for a rejection and stores nothing; a good one is saved', async (t) => {
  const { app } = await workersApp(t);
  const client = await loggedIn(app);
  const before = await loadWorkerPolicy(app.services.db);
  const fields = { mode: 'auto', growCpu: '30%', shrinkCpu: '40%', growRatio: '0.5', shrinkRatio: '2', cooldownS: '-5' };
  const rejected = await client.post('/workers/policy', fields, { csrfFrom: '/workers' });
  assert.equal(rejected.statusCode, 400);
  assert.match(rejected.body, /The policy was not saved/);
  assert.match(rejected.body, /Shrink below CPU \(shrinkCpu\) must be below grow above CPU \(growCpu\), but 40.0% is not below 30.0%/);
  assert.match(rejected.body, /Grow ratio \(growRatio\)/);
  assert.match(rejected.body, /Shrink ratio \(shrinkRatio\)/);
  assert.match(rejected.body, /Cool-down \(cooldownS\)/);
  assert.match(rejected.body, /id="shrinkCpu"[^>]*value="40%"/, 'the typed values are kept');
  assert.deepEqual(await loadWorkerPolicy(app.services.db), before, 'the stored policy is unchanged');

  const saved = await submit(client, '/workers/policy', { mode: 'auto', growCpu: '0.8', shrinkCpu: '25', growRatio: '2', shrinkRatio: '0.5', cooldownS: '120' });
  assert.deepEqual(flash(saved), [
    'success',
    'Policy saved: the web pool is in automatic mode: it grows ×2 above an average CPU of 80.0% and shrinks ×0.5 below 25.0%, then waits 120 s.',
  ]);
  assert.deepEqual(await loadWorkerPolicy(app.services.db), { mode: 'auto', growCpu: 0.8, shrinkCpu: 0.25, growRatio: 2, shrinkRatio: 0.5, cooldownS: 120 });
  assert.match(saved.body, /data-mode="auto"/);
  assert.match(saved.body, /id="growCpu"[^>]*value="80%"/);
  const refused = await submit(client, '/workers/grow');
  assert.match(flash(refused)![1], /automatic mode/);
});

test('workers: a scaling decision of the web pool is listed with its CPU and reason', async (t) => {
  const { app } = await workersApp(t);
  const client = await loggedIn(app);
  await app.services.db.scalingEvent.createMany({
    data: [
      { pool: 'web', actor: 'scaler', fromNodes: 2, toNodes: 3, cpu: 0.812, growCpu: 0.7, shrinkCpu: 0.2, reason: 'average CPU 81.2% over the last 2 min above 70.0%: grow 2 → 3' },
      { pool: 'cache', actor: 'scaler', fromNodes: 1, toNodes: 2, reason: 'a cache decision' },
    ],
  });
  const page = await client.get('/workers');
  const history = page.body.slice(page.body.indexOf('Scaling history'));
  assert.match(history, /<td>scaler<\/td><td class="nowrap">2 → 3<\/td><td class="num">81.2%<\/td><td>average CPU 81.2% over the last 2 min above 70.0%: grow 2 → 3<\/td>/);
  assert.doesNotMatch(history, /a cache decision/);
  assert.doesNotMatch((await client.get('/pool')).body, /grow 2 → 3/, 'and the cache pool page lists only its own');
});

function workerSample(workerId: string, at: Date, counts: { cpu: number; requests: number; bytesIn: number; bytesOut: number }) {
  return { workerId, at, ...counts, bytesIn: BigInt(counts.bytesIn), bytesOut: BigInt(counts.bytesOut) };
}

test('worker details: four charts from files only; 30 minutes of data with gaps, never invented zeros; unknown ids are 404', async (t) => {
  const { app } = await workersApp(t);
  const client = await loggedIn(app);
  await app.ready();
  await waitFor(async () => (await activeWorkers(app)).length === 1);
  const now = Date.now();
  const fiveAgo = new Date(now - 5 * MINUTE);
  await app.services.db.workerSample.createMany({
    data: [
      workerSample('worker-1', fiveAgo, { cpu: 0.5, requests: 120, bytesIn: 10_000, bytesOut: 2_000_000 }),
      workerSample('worker-7', fiveAgo, { cpu: 0.9, requests: 999, bytesIn: 1, bytesOut: 1 }),
    ],
  });

  const page = await client.get('/workers/worker-1');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<h1>Worker <code>worker-1<\/code><\/h1>/);
  assert.deepEqual([...page.body.matchAll(/<canvas data-series="(\w+)"/g)].map((m) => m[1]), ['cpu', 'requests', 'bytesIn', 'bytesOut']);
  assert.match(page.body, /data-source="\/workers\/worker-1\/data\.json"/);
  const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.deepEqual(scripts.map(([, attributes]) => /src="([^"]+)"/.exec(attributes!)?.[1]), ['/vendor/chartjs/chart.umd.js', '/static/js/minute-charts.js']);
  for (const [, , content] of scripts) assert.equal(content!.trim(), '', 'no inline script');

  const res = await client.get('/workers/worker-1/data.json');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['cache-control'], 'no-store');
  const data = res.json<MinuteCharts<'cpu' | 'requests' | 'bytesIn' | 'bytesOut'>>();
  assert.equal(data.minutes.length, 30);
  const starts = data.minutes.map((iso) => Date.parse(iso));
  const five = starts.indexOf(Math.floor(fiveAgo.getTime() / MINUTE) * MINUTE);
  assert.ok(five >= 0);
  assert.deepEqual(
    Object.fromEntries(Object.entries(data.series).map(([name, values]) => [name, values[five]])),
    { cpu: 0.5, requests: 120, bytesIn: 10_000, bytesOut: 2_000_000 },
    'this worker only',
  );
  for (const [name, values] of Object.entries(data.series)) {
    assert.equal(values.length, 30, name);
    values.forEach((value, i) => i !== five && assert.equal(value, null, `${name} at ${data.labels[i]} is a gap`));
  }

  for (const url of ['/workers/worker-7', '/workers/worker-7/data.json', '/workers/node-1']) {
    const missing = await client.get(url);
    assert.equal(missing.statusCode, 404, url);
  }
  assert.match((await client.get('/workers/worker-7')).body, /the web pool has no worker worker-7/);
});

test('dashboard with a web pool: healthy workers and average CPU per minute, gaps as nulls', async (t) => {
  const { app } = await workersApp(t);
  const client = await loggedIn(app);
  const threeAgo = new Date(Date.now() - 3 * MINUTE);
  await app.services.db.workerSample.createMany({
    data: [
      workerSample('worker-1', threeAgo, { cpu: 0.2, requests: 10, bytesIn: 1, bytesOut: 1 }),
      workerSample('worker-2', threeAgo, { cpu: 0.6, requests: 30, bytesIn: 1, bytesOut: 1 }),
    ],
  });
  const page = await client.get('/dashboard');
  assert.deepEqual([...page.body.matchAll(/<canvas data-series="(\w+)"/g)].map((m) => m[1]).slice(-2), ['workers', 'cpu']);
  const data = (await client.get('/dashboard/data.json')).json<MinuteCharts<'workers' | 'cpu'>>();
  const three = data.minutes.map((iso) => Date.parse(iso)).indexOf(Math.floor(threeAgo.getTime() / MINUTE) * MINUTE);
  assert.equal(data.series.workers[three], 2);
  assert.ok(Math.abs(data.series.cpu[three]! - 0.4) < 1e-9, `average CPU ${data.series.cpu[three]}`);
  assert.equal(data.series.workers.filter((v) => v !== null).length, 1, 'every other minute is a gap');
});

test('every workers form without its CSRF token is rejected and changes nothing', async (t) => {
  const { app } = await workersApp(t);
  const client = await loggedIn(app);
  await app.ready();
  await waitFor(async () => (await activeWorkers(app)).length === 1);
  const before = await loadWorkerPolicy(app.services.db);
  const forms: Array<[string, Record<string, string>]> = [
    ['/workers/grow', {}],
    ['/workers/shrink', {}],
    ['/workers/destroy', { id: 'worker-1', confirm: 'yes' }],
    ['/workers/policy', { mode: 'auto' }],
    ['/danger/stop-everything', { confirm: 'yes' }],
  ];
  for (const [url, fields] of forms) {
    const res = await client.post(url, fields, { withCsrf: false });
    assert.equal(res.statusCode, 403, url);
  }
  assert.deepEqual(await activeWorkers(app), ['worker-1']);
  assert.deepEqual(await loadWorkerPolicy(app.services.db), before);
  assert.equal(await app.services.db.scalingEvent.count({ where: { actor: 'operator' } }), 0, 'no decision was recorded');
});

test('stop everything: nothing without the tick box; with it both pools go to manual and 0, then the manager is asked to shut down', async (t) => {
  let shutdowns = 0;
  const { app, workers } = await workersApp(t, { EMC_MIN_NODES: '2' }, () => shutdowns++);
  const client = await loggedIn(app);
  await app.ready();
  await waitFor(async () => (await activeWorkers(app)).length === 1);
  await app.services.requests.resize(3, { actor: 'operator', reason: 'test' });
  await saveScalerPolicy(app.services.db, { ...(await loadScalerPolicy(app.services.db)), mode: 'auto' });

  const danger = await client.get('/danger');
  assert.match(danger.body, /<h2>Stop everything<\/h2>/);
  assert.match(danger.body, /The web pool is sized to 0/);
  assert.match(danger.body, /only action that goes below the minimums \(1 worker, 2 nodes\)/);

  const unticked = await submit(client, '/danger/stop-everything');
  assert.deepEqual(flash(unticked), ['error', 'Tick the box to confirm stopping everything; nothing was done.']);
  assert.equal(shutdowns, 0);
  assert.equal(await app.services.requests.actual(), 3);

  const res = await client.post('/danger/stop-everything', { confirm: 'yes' }, { csrfFrom: '/danger' });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.body, /<h1>Everything is stopped<\/h1>/);
  assert.match(res.body, /Stopped 1 worker and 3 nodes; both pools are at 0 in manual mode\./);
  assert.match(res.body, /This manager process is shutting down now/);
  assert.equal(shutdowns, 1, 'the manager was asked to stop once the answer was sent');
  assert.equal((await loadScalerPolicy(app.services.db)).mode, 'manual');
  assert.equal((await loadWorkerPolicy(app.services.db)).mode, 'manual');
  assert.equal(await app.services.db.poolNode.count(), 0, 'no member of either pool is left');
  assert.deepEqual(await app.services.leader!.provider('cache')!.list(), [], 'every cache node is stopped');
  assert.deepEqual(await workers.list(), [], 'every worker is stopped');
  const events = await app.services.db.scalingEvent.findMany({ where: { reason: 'console: stop everything' }, orderBy: { id: 'asc' } });
  assert.deepEqual(events.map((e) => [e.pool, e.fromNodes, e.toNodes]), [['web', 1, 0], ['cache', 3, 0]], 'workers first, then nodes');
});

test('stop everything, as it runs: `emc start` stops every worker and cache node process, then exits cleanly', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-stop-everything-'));
  const [webPort, managerPort] = [await freePort(), await freePort()];
  const proc = runEmc(['start', '--role', 'all'], {
    ...webPoolEnv,
    EMC_DATA_DIR: dataDir,
    EMC_LOG_LEVEL: 'warn',
    EMC_WEB_PORT: String(webPort),
    EMC_MANAGER_PORT: String(managerPort),
    EMC_WORKER_DRAIN_S: '5',
  });
  const pids: number[] = [];
  t.after(async () => {
    killAll([proc.child.pid!, ...pids]);
    await rm(dataDir, { recursive: true, force: true });
  });
  const origin = `http://127.0.0.1:${managerPort}`;
  // Role all opens its port once both pools are up: a cache node and a worker, each a Node process (slow on a busy machine).
  await waitForHealth(`${origin}/health`, 120_000);
  const client = new HttpConsoleClient(origin);
  assert.equal((await client.post('/login', { password: consoleEnv.EMC_ADMIN_PASSWORD }, { csrfFrom: '/login' })).status, 302);
  const pidsOn = async (path: string, marker: string) =>
    [...(await client.get(path)).body.matchAll(new RegExp(`${marker}="[^"]+"[\\s\\S]*?pid:(\\d+)`, 'g'))].map((m) => Number(m[1]));
  pids.push(...(await pidsOn('/workers', 'data-worker')), ...(await pidsOn('/pool', 'data-node')));
  assert.equal(pids.length, 2, `a worker and a cache node: ${pids}`);
  assert.ok(pids.every(alive));

  const stopped = await client.post('/danger/stop-everything', { confirm: 'yes' }, { csrfFrom: '/danger' });
  assert.equal(stopped.status, 200, stopped.body);
  assert.match(stopped.body, /Stopped 1 worker and 1 node; both pools are at 0 in manual mode\./);
  assert.equal(await proc.exited, 0, `a clean exit:\n${proc.output()}`);
  assert.deepEqual(await survivors(pids), [], 'no worker or cache node outlives it');
  assert.match(proc.output(), /"workers":1,"nodes":1,"msg":"everything stopped from the console"/);
});
