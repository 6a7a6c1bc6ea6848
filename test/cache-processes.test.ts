import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { loadConfig } from '../src/config/config.js';
import { saveSharedCacheConfig } from '../src/cache/shared-cache-config.js';
import { recordMembers } from './helpers/pool.js';
import { buildTestApp } from './helpers/app.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';
import { freePort, runEmc, waitForHealth } from './helpers/process.js';

test('web look-ups are served by real cache processes, and killing one fails no look-up', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-nodes-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const ports = [await freePort(), await freePort(), await freePort()];
  const processes = ports.map((port, i) =>
    runEmc(['start', '--role', 'cache'], {
      EMC_CACHE_PORT: String(port),
      EMC_NODE_ID: `cache-${i + 1}`,
      EMC_LOG_LEVEL: 'warn',
    }),
  );
  t.after(() => processes.forEach((p) => p.child.kill('SIGKILL')));
  await Promise.all(ports.map((port) => waitForHealth(`http://127.0.0.1:${port}/health`)));

  // A manager elsewhere recorded these nodes; the web role follows the database.
  const { database } = loadConfig({ EMC_DATA_DIR: dataDir });
  await migrate(database);
  const db = createDb(database);
  const members = ports.map((port, i) => ({ id: `cache-${i + 1}`, instanceId: null, address: `http://127.0.0.1:${port}` }));
  await recordMembers(db, members);
  await db.$disconnect();
  const { app } = await buildTestApp(t, {
    env: { EMC_DATA_DIR: dataDir, EMC_ROLE: 'web', EMC_PROVIDER: 'process', EMC_CACHE_TIMEOUT_MS: '500' },
  });
  assert.deepEqual(app.services.pool.nodes().map((n) => n.id), ['cache-1', 'cache-2', 'cache-3']);

  const keys = Array.from({ length: 60 }, (_, i) => `img-${i}`);
  for (const [i, key] of keys.entries()) {
    assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm(key, pngVariant(i)) })).statusCode, 200);
  }
  const lookUpAll = async () => {
    const results = await Promise.all(keys.map((key) => app.inject(`/image/${key}`)));
    return results.filter((res, i) => res.statusCode !== 200 || !res.rawPayload.equals(pngVariant(i))).length;
  };
  assert.equal(await lookUpAll(), 0); // misses fill the nodes
  assert.equal(await lookUpAll(), 0); // hits
  const status = await app.services.pool.status();
  assert.equal(status.reduce((n, row) => n + row.stats!.hits, 0), keys.length, 'the second round was all hits');
  assert.ok(status.every((row) => row.stats!.items > 0), 'every node holds a share');

  // Kill one node while look-ups are in flight.
  const failures: number[] = [];
  const load = (async () => {
    for (let round = 0; round < 10; round++) failures.push(await lookUpAll());
  })();
  await new Promise((r) => setTimeout(r, 30));
  processes[1]!.child.kill('SIGKILL');
  await load;
  assert.deepEqual(failures, Array(10).fill(0), 'no look-up failed');
  const after = await app.services.pool.status();
  const dead = after.find((row) => row.id === 'cache-2')!;
  assert.equal(dead.suspect, true);
  assert.ok(dead.error, 'the dead node shows its error');
  assert.ok(after.filter((row) => row.id !== 'cache-2').every((row) => row.stats), 'the others still answer');

  // Nodes hold no database client: the manager sends them the shared configuration (a node
  // that never had it, or restarted, runs the defaults) and publishes their counters.
  await saveSharedCacheConfig(app.services.db, { capacityMb: 32, policy: 'RR' });
  // The operator wants two nodes now, so the leader drops the dead one without replacing it.
  await app.services.db.poolState.update({ where: { id: 1 }, data: { desiredSize: 2 } });
  const { app: manager } = await buildTestApp(t, {
    env: {
      EMC_DATA_DIR: dataDir,
      EMC_ROLE: 'manager',
      EMC_ADMIN_PASSWORD: 'a long enough password',
      EMC_PROVIDER: 'process',
      EMC_CACHE_TIMEOUT_MS: '500',
      EMC_STATS_INTERVAL_S: '0.2',
    },
  });
  await manager.ready();
  assert.equal(await manager.services.leader!.lead(), true);
  assert.deepEqual(manager.services.pool.nodes().map((n) => n.id), ['cache-1', 'cache-3'], 'the leader dropped the dead node');
  for (const node of manager.services.pool.nodes()) {
    const stats = await node.stats();
    assert.deepEqual([stats.policy, stats.capacityBytes], ['RR', 32 * 1024 * 1024], `${node.id} runs the shared configuration`);
  }
  await new Promise((r) => setTimeout(r, 500));
  const published = await manager.services.db.metricSample.groupBy({ by: ['nodeId'], _sum: { lookups: true } });
  const byNode = new Map(published.map((row) => [row.nodeId, row._sum.lookups ?? 0]));
  assert.ok((byNode.get('cache-1') ?? 0) > 0 && (byNode.get('cache-3') ?? 0) > 0, JSON.stringify([...byNode]));
  assert.equal(byNode.has('cache-2'), false);
});
