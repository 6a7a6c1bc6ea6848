// Fault: the leader is SIGKILLed in the middle of a resize, holding the lease. A new process
// on the same database leads once the lease expires, applies the desired state the dead
// leader was working on, and leaves the pool consistent: database members, ring and provider
// agree, and no node the dead leader started is left running.
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

const eventually = async (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

for (const kind of ['inprocess', 'process'] as const) {
  test(`a leader SIGKILLed mid-resize (${kind} nodes): the next process leads once the lease expires and completes the desired state`, { timeout: 60_000 }, async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'emc-fault-resizer-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const resizer = startResizer(t, dataDir, kind);
    await resizer.next('ready');
    const hanging = await resizer.next('hanging');
    const db = createDb(loadConfig({ EMC_DATA_DIR: dataDir }).database);
    t.after(() => db.$disconnect());
    const before = await readMembers(db, 'cache');
    const dead = await db.poolState.findUniqueOrThrow({ where: { id: 1 } });
    assert.match(dead.leaderId ?? '', new RegExp(`:${resizer.child.pid}:`), 'the resizer leads');
    assert.equal(dead.desiredSize, 2, 'the asked size is recorded');
    assert.deepEqual(before.map((m) => m.id), ['node-1'], 'nothing of the resize is recorded');
    const strays = hanging.flatMap((h) => (h.node ? [pidOf((h.node as { instanceId: string }).instanceId)] : []));
    t.after(() => killAll(strays));
    if (kind === 'process') assert.ok(strays.length === 1 && strays.every(alive), 'a cache process runs that nothing records');

    resizer.child.kill('SIGKILL');
    await resizer.exited;
    const { leaseExpiresAt } = await db.poolState.findUniqueOrThrow({ where: { id: 1 } });
    assert.deepEqual(await survivors(strays, 10_000), [], 'the dead leader took its half-started cache process with it');

    // A new process (same data) starts: it leads only once the dead leader's lease expires.
    const startedAt = Date.now();
    const { app } = await buildTestApp(t, { env: { EMC_DATA_DIR: dataDir, EMC_PROVIDER: kind, EMC_POOL_LOCK_TTL_S: '2', EMC_POOL_SYNC_MS: '100' } });
    await app.ready();
    await eventually(async () => app.services.leader!.isLeading(), 10_000, 'the new process leads');
    const ledAt = Date.now();
    assert.ok(ledAt >= leaseExpiresAt!.getTime() - 50, 'it waited for the lease to expire');
    const free = Math.max(leaseExpiresAt!.getTime(), startedAt);
    // Role all leads before it serves: with processes, its first pass (starting two nodes) comes first.
    assert.ok(ledAt - free < (kind === 'process' ? 20_000 : 5000), `it led ${ledAt - free} ms after the lease was free and it started`);
    await eventually(async () => (await readMembers(db, 'cache')).length === 2 && app.services.pool.nodes().length === 2, 25_000, 'the pool reached the desired 2 nodes');

    const state = await db.poolState.findUniqueOrThrow({ where: { id: 1 } });
    assert.ok(state.leaderGeneration > dead.leaderGeneration, 'a new generation leads');
    const members = await readMembers(db, 'cache');
    const ids = members.map((m) => m.id);
    assert.deepEqual(app.services.pool.nodes().map((n) => n.id), ids, 'the ring follows the database');
    assert.deepEqual((await app.services.leader!.provider()!.list()).map((n) => n.id).sort(), [...ids].sort(), 'the provider runs exactly the members');
    if (kind === 'process') {
      const pids = members.map((m) => pidOf(m.instanceId));
      t.after(() => killAll(pids));
      assert.ok(pids.every((pid) => alive(pid) && !strays.includes(pid)), 'new cache processes serve');
    }
    const resized = await app.inject({ method: 'POST', url: '/api/configure_cache?numNodes=3' });
    assert.equal(resized.json().numNodes, 3, 'and it can resize again at once');
  });
}
