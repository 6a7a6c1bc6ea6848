// The local web pool as it runs: `emc start --role all` with EMC_WEB_POOL=cluster is its own OS
// process, the cluster primary; its web workers are forked processes sharing the web port. The
// pool grows and shrinks through the JSON API, and a shrink drains the leaving workers under a
// keep-alive load without failing a request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { keepAliveLoad } from './helpers/keep-alive-load.js';
import { images } from './helpers/fixtures.js';
import { startLocalWebPool } from './helpers/local-web-pool.js';
import { uploadForm } from './helpers/multipart.js';
import { alive, pidOf, survivors, waitForHealth } from './helpers/process.js';

test('the local web pool: workers forked by the manager share the web port; 1→3→1 through the API, the shrink drains with no failed request', { timeout: 180_000 }, async (t) => {
  const pool = await startLocalWebPool(t, {
    maxWorkers: 4,
    // Request lines carry the worker's id: how the test sees which worker answered.
    env: { EMC_LOG_LEVEL: 'info', EMC_LOG_FORMAT: 'json' },
  });
  const { emc, manager, web, auth, workers } = pool;
  const primary = emc.child.pid!;

  const resize = async (body: object) => {
    const response = await fetch(`${manager}/api/workers/resize`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Which workers answer the web port: fresh connections, spread round-robin by the primary. */
  const answering = async (requests: number) => {
    const mark = emc.output().length;
    // A query string of its own: the leader's health checks of each worker are logged as /health too.
    for (let i = 0; i < requests; i++) await fetch(`${web}/health?from=test`, { headers: { connection: 'close' } });
    await new Promise((r) => setTimeout(r, 300)); // the last log lines
    return new Set([...emc.output().slice(mark).matchAll(/"worker":"(worker-\d+)"[^\n]*"url":"\/health\?from=test"/g)].map((m) => m[1]));
  };

  assert.equal((await workers()).length, 1, 'the pool starts at its minimum');

  const upload = uploadForm('i16core/cat.png', images.png);
  const uploaded = await fetch(`${web}/api/upload`, { method: 'POST', headers: upload.headers, body: upload.payload });
  assert.equal(uploaded.status, 200, await uploaded.text());

  const grown = await resize({ to: 3 });
  assert.equal(grown.status, 200, JSON.stringify(grown.body));
  const three = await workers();
  assert.equal(three.length, 3);
  assert.ok(three.every((w) => w.healthy && w.state === 'active'), JSON.stringify(three));
  const workerPids = three.map((w) => pidOf(w.instanceId));
  pool.track(workerPids);
  assert.equal(new Set(workerPids).size, 3, 'three processes');
  assert.ok(!workerPids.includes(primary) && workerPids.every(alive), 'forked from the primary, all running');
  assert.deepEqual([...(await answering(30))].sort(), three.map((w) => w.id).sort(), 'each of the three answers on the web port');

  assert.equal((await resize({ to: 5 })).status, 400, 'past EMC_MAX_WORKERS');
  assert.equal((await resize({ to: 0 })).status, 400, 'below EMC_MIN_WORKERS');

  const load = keepAliveLoad(t, `${web}/image/i16core/cat.png`, 8);
  await eventually('the load runs', 10_000, async () => load.result.ok > 200);
  const shrunk = await resize({ to: 1 });
  assert.equal(shrunk.status, 200, JSON.stringify(shrunk.body));
  const before = load.result.ok;
  await eventually('the load goes on after the shrink', 10_000, async () => load.result.ok > before + 200);
  const { ok, failed } = await load.stop();
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${ok + failed.length} requests failed during the drain`);

  const one = await workers();
  assert.equal(one.length, 1);
  const gone = workerPids.filter((pid) => pid !== pidOf(one[0]!.instanceId));
  assert.deepEqual(await survivors(gone, 5000), [], 'the leaving workers exited');
  assert.deepEqual([...(await answering(10))], [one[0]!.id], 'only the remaining worker answers');

  const unknown = await fetch(`${manager}/api/workers/worker-99/stop`, { method: 'POST', headers: auth });
  assert.equal(unknown.status, 404);
  assert.equal((await fetch(`${manager}/api/workers/${one[0]!.id}/stop`, { method: 'POST', headers: auth })).status, 400, 'not below the minimum');

  // A worker that dies is dropped and replaced by the leader's health pass, like a dead cache node.
  const dead = pidOf(one[0]!.instanceId);
  process.kill(dead, 'SIGKILL');
  const replaced = await eventually('a new worker replaces the dead one', 30_000, async () => {
    const now = await workers();
    return now.length === 1 && now[0]!.healthy && pidOf(now[0]!.instanceId) !== dead && now[0];
  });
  await waitForHealth(`${web}/health`, 10_000);

  emc.child.kill('SIGTERM');
  assert.equal(await emc.exited, 0);
  assert.deepEqual(await survivors([primary, pidOf(replaced.instanceId)], 10_000), [], 'the workers end with the primary');
});
