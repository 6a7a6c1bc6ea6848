// Fault: the process resizing the pool is SIGKILLed in the middle of a resize, holding the
// pool lock. A new process on the same database waits at most for the lock to expire, takes
// it, and leaves the pool consistent: database members, ring and provider agree, and no node
// the dead resizer started is left running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createDb } from '../src/db/database.js';
import { loadConfig } from '../src/config/config.js';
import { readMembers } from '../src/scaling/pool-membership.js';
import { buildTestApp } from './helpers/app.js';
import { alive, killAll, pidOf, survivors } from './helpers/process.js';

const repoRoot = join(import.meta.dirname, '..');
type Step = { step: string; [field: string]: unknown };

/** Starts the resizer fixture (see its header); `next(step)` waits for its report of that step. */
function startResizer(t: TestContext, dataDir: string, kind: 'inprocess' | 'process') {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'fixtures', 'fault-resizer.ts'), dataDir, kind], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => killAll([child.pid!]));
  const exited = once(child, 'exit');
  const steps: Step[] = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      steps.push(JSON.parse(buffer.slice(0, nl)) as Step);
      buffer = buffer.slice(nl + 1);
    }
  });
  /** The first `count` lines of that step, once they came. */
  async function next(step: string, count = 1, timeoutMs = 40_000): Promise<Step[]> {
    const deadline = Date.now() + timeoutMs;
    let exit: unknown;
    void exited.then((e) => (exit = e));
    for (;;) {
      const found = steps.filter((s) => s.step === step);
      if (found.length >= count) return found.slice(0, count);
      if (exit) throw new Error(`the resizer exited (${JSON.stringify(exit)}) before "${step}"; it said ${JSON.stringify(steps)}`);
      if (Date.now() > deadline) throw new Error(`no "${step}" within ${timeoutMs} ms; it said ${JSON.stringify(steps)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { child, exited, steps, next };
}

for (const kind of ['inprocess', 'process'] as const) {
  test(`a resizer SIGKILLed holding the lock (${kind} nodes): the next process takes the lock once it expires and the pool ends consistent`, { timeout: 60_000 }, async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'emc-fault-resizer-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const resizer = startResizer(t, dataDir, kind);
    await resizer.next('ready');
    // Inside the resize, under the lock: in-process, the new node's start hangs; with
    // processes, both new children are up but the resize never records them.
    const hanging = await resizer.next('hanging', kind === 'process' ? 2 : 1);
    const db = createDb(loadConfig({ EMC_DATA_DIR: dataDir }).database);
    t.after(() => db.$disconnect());
    const before = await readMembers(db);
    const lock = await db.poolState.findUniqueOrThrow({ where: { id: 1 } });
    assert.match(lock.lockHolder ?? '', new RegExp(`:${resizer.child.pid}:`), 'the resizer holds the lock');
    // In-process, the start-up reconcile recorded node-1 (it lives in the resizer); the scaler records nothing.
    assert.deepEqual(before.map((m) => m.id), kind === 'process' ? [] : ['node-1'], 'nothing of the resize is recorded');
    const strays = hanging.flatMap((h) => (h.node ? [pidOf((h.node as { instanceId: string }).instanceId)] : []));
    t.after(() => killAll(strays));
    if (kind === 'process') assert.ok(strays.length === 2 && strays.every(alive), 'two cache processes run that nothing records');

    resizer.child.kill('SIGKILL');
    await resizer.exited;
    const { lockExpiresAt } = await db.poolState.findUniqueOrThrow({ where: { id: 1 } });
    assert.ok(lockExpiresAt && lockExpiresAt.getTime() > Date.now() - 2000, 'the dead holder left the lock behind');
    assert.deepEqual(await survivors(strays, 10_000), [], 'the dead resizer took its half-started cache processes with it');

    // A new process (same data) starts: its start-up reconcile needs the lock.
    const started = Date.now();
    const { app } = await buildTestApp(t, { env: { EMC_DATA_DIR: dataDir, EMC_PROVIDER: kind, EMC_POOL_LOCK_TTL_S: '2' } });
    const tookMs = Date.now() - started;
    assert.ok(tookMs < 2000 + 25_000, `started in ${tookMs} ms`);

    const state = await db.poolState.findUniqueOrThrow({ where: { id: 1 } });
    assert.equal(state.lockHolder, null, 'the new process released the lock');
    const events = await db.scalingEvent.findMany({ orderBy: { id: 'asc' } });
    const healed = events.at(-1)!;
    assert.equal(healed.actor, 'operator');
    assert.match(healed.reason, /reconcile: bring the pool to its minimum of 1 node/);
    assert.ok(healed.at.getTime() >= lockExpiresAt!.getTime(), 'the lock was taken only after it expired');
    if (kind === 'inprocess') {
      // Nothing to start but a shard: the reconcile ran as soon as the lock expired.
      const lateMs = healed.at.getTime() - lockExpiresAt!.getTime();
      assert.ok(lateMs < 5000, `the pool was repaired ${lateMs} ms after the lock expired`);
    }
    assert.ok(events.every((e) => e.toNodes <= 1), `the dead resize recorded nothing: ${JSON.stringify(events.map((e) => [e.fromNodes, e.toNodes]))}`);

    const members = await readMembers(db);
    assert.equal(members.length, 1);
    const ids = members.map((m) => m.id);
    assert.deepEqual(app.services.pool.nodes().map((n) => n.id), ids, 'the ring follows the database');
    assert.deepEqual((await app.services.leader!.provider()!.list()).map((n) => n.id), ids, 'the provider runs exactly the members');
    if (kind === 'process') {
      const pid = pidOf(members[0]!.instanceId);
      t.after(() => killAll([pid]));
      assert.ok(alive(pid) && !strays.includes(pid), 'a new cache process serves');
    }
    assert.equal((await app.services.pool.status())[0]!.suspect, false);
    const resized = await app.inject({ method: 'POST', url: '/api/configure_cache?numNodes=2' });
    assert.equal(resized.json().numNodes, 2, 'and it can resize again at once');
  });
}

test('a periodic reconcile slower than its interval is skipped, not queued behind itself', { timeout: 30_000 }, async (t) => {
  const { app } = await buildTestApp(t, { env: { EMC_RECONCILE_S: '0.05' } });
  const { controller } = app.services;
  let running = 0;
  let most = 0;
  let calls = 0;
  // A reconcile that takes 20 intervals: waiting for the lock of a dead holder, or starting a node.
  controller.reconcile = async () => {
    calls++;
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, 1000));
    running--;
  };
  await app.ready(); // starts the loop
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(most, 1, 'never two at once');
  assert.ok(calls >= 2 && calls <= 3, `one run at a time: ${calls} runs in 2.5 s`);
});
