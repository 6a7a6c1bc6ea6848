// The web tier's near cache, tested as it runs: two web processes sharing two cache-node
// processes and one database. A copy in a web process's near cache is revalidated with the
// owner node on every look-up, so an image replaced or deleted through one web host is
// never served from the other's near cache.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CacheStats } from '../src/cache/cache-stats.js';
import { loadConfig } from '../src/config/config.js';
import { createDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createLeaderLease } from '../src/scaling/leader-lease.js';
import { commitMembership } from '../src/scaling/pool-membership.js';
import { pngVariant } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';
import { freePort, runEmc, waitForHealth, type EmcProcess } from './helpers/process.js';

/** rchar + wchar: every byte a process read or wrote through system calls, sockets included. */
async function ioBytes(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar: (\d+)/m.exec(io)![1]) + Number(/^wchar: (\d+)/m.exec(io)![1]);
}

test('no web host serves a replaced or deleted image from its near cache; unchanged hits cross the hop without their bytes', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-near-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const running: EmcProcess[] = [];
  t.after(() => running.forEach((p) => p.child.kill('SIGKILL')));

  const nodePorts = [await freePort(), await freePort()];
  const nodes = nodePorts.map((port) => `http://127.0.0.1:${port}`);
  for (const [i, port] of nodePorts.entries()) {
    running.push(runEmc(['start', '--role', 'cache'], { EMC_CACHE_PORT: String(port), EMC_NODE_ID: `cache-${i + 1}`, EMC_LOG_LEVEL: 'warn' }));
  }
  await Promise.all(nodes.map((base) => waitForHealth(`${base}/health`)));
  const { database } = loadConfig({ EMC_DATA_DIR: dataDir });
  await migrate(database);
  const db = createDb(database);
  // The test records the membership a leader would (no manager runs here): it holds the lease for the test.
  const lease = await createLeaderLease({ db, holder: 'near-cache-test', ttlMs: 600_000 }).refresh();
  await commitMembership(db, lease!, 'cache', nodes.map((address, i) => ({ id: `cache-${i + 1}`, instanceId: null, address })), []);
  await db.$disconnect();

  const webs: string[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    running.push(
      runEmc(['start', '--role', 'web'], {
        EMC_DATA_DIR: dataDir,
        EMC_PROVIDER: 'process',
        EMC_WEB_PORT: String(port),
        EMC_NEAR_CACHE_MB: '8',
        EMC_ADMIN_TOKEN: 'near-cache-test-token',
        EMC_LOG_LEVEL: 'warn',
      }),
    );
    webs.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(webs.map((base) => waitForHealth(`${base}/health`)));
  const [a, b] = webs as [string, string];
  const upload = async (base: string, seed: number) => {
    const { payload, headers } = uploadForm('cat', pngVariant(seed));
    const response = await fetch(`${base}/api/upload`, { method: 'POST', headers, body: payload });
    assert.equal(response.status, 200, await response.text());
  };
  const image = async (base: string) => {
    const response = await fetch(`${base}/image/cat`);
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
  };
  const stats = async () => Promise.all(nodes.map(async (base) => (await (await fetch(`${base}/stats`)).json()) as CacheStats));
  const sum = (all: CacheStats[], field: 'hits' | 'puts' | 'lookups') => all.reduce((n, s) => n + s[field], 0);
  const nodePids = running.slice(0, 2).map((p) => p.child.pid!);
  const hopBytes = async () => (await Promise.all(nodePids.map(ioBytes))).reduce((x, y) => x + y, 0);

  await upload(a, 1);
  assert.deepEqual(await image(b), { status: 200, bytes: pngVariant(1) }, 'B fills its near cache');
  const before = { stats: await stats(), bytes: await hopBytes() };
  assert.deepEqual(await image(b), { status: 200, bytes: pngVariant(1) });
  const after = { bytes: await hopBytes(), stats: await stats() };
  assert.equal(sum(after.stats, 'hits') - sum(before.stats, 'hits'), 1, 'a revalidated near-cache hit is a hit on its node');
  // The stats calls themselves cross the hop too: one before and one after, about 300 bytes each way.
  const statsCall = 700;
  assert.ok(after.bytes - before.bytes < 1024 + 2 * statsCall, `the unchanged hit moved ${after.bytes - before.bytes} bytes on the hop`);

  // Concurrent look-ups share revalidations, and the node still counts every one of them.
  const hits = sum(await stats(), 'hits');
  const together = await Promise.all(Array.from({ length: 40 }, () => image(b)));
  assert.ok(together.every((r) => r.status === 200 && r.bytes.equals(pngVariant(1))));
  assert.equal(sum(await stats(), 'hits') - hits, 40, 'forty look-ups, forty hits on the node');

  // Replaced through A: B's near copy is never served again.
  await upload(a, 2);
  for (let i = 0; i < 3; i++) assert.deepEqual(await image(b), { status: 200, bytes: pngVariant(2) }, 'B serves the replacement');

  // A node that lost the entry (restarted, evicted) is refilled from B's near copy when the
  // database row still names that version: with the stored object gone, only that copy can answer.
  for (const base of nodes) assert.equal((await fetch(`${base}/cache`, { method: 'DELETE' })).status, 200);
  const imagesDir = join(dataDir, 'images');
  for (const dir of await readdir(imagesDir)) {
    if (dir.startsWith('.')) continue;
    for (const file of await readdir(join(imagesDir, dir))) await unlink(join(imagesDir, dir, file));
  }
  const puts = sum(await stats(), 'puts');
  assert.deepEqual(await image(b), { status: 200, bytes: pngVariant(2) }, 'B refills the node without the image store');
  assert.equal(sum(await stats(), 'puts') - puts, 1, 'the node got the entry back');
  assert.deepEqual(await image(a), { status: 200, bytes: pngVariant(2) }, 'A reads the refilled node (its own near cache dropped the key on upload)');

  // Deleted through A: B answers 404, although its near cache still held the image.
  const deleted = await fetch(`${a}/api/delete_all`, { method: 'POST', headers: { authorization: 'Bearer near-cache-test-token' } });
  assert.equal(deleted.status, 200);
  assert.equal((await image(b)).status, 404);
});
