// The control plane as it runs in production: two managers, a web host and a scaler, each
// its own OS process (`emc start --role …`, as the deploy kit starts them), on PostgreSQL,
// with cache nodes as processes started by whichever manager leads. Faults are real: a
// cache node and the leader are SIGKILLed, the database drops every connection.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './helpers/eventually.js';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { postgresUrl, resetPostgres } from './helpers/database.js';
import { HttpConsoleClient } from './helpers/http-console.js';
import { alive, childrenOf, freePort, killAll, runEmc, survivors, waitForHealth, type EmcProcess } from './helpers/process.js';

const PASSWORD = 'a long enough password';
const TTL_S = 2;
const SYNC_MS = 200;

type Fleet = Awaited<ReturnType<typeof startFleet>>;

async function startFleet(t: TestContext) {
  await resetPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-roles-'));
  const sql = new pg.Client({ connectionString: postgresUrl });
  await sql.connect();
  const shared = {
    DATABASE_URL: postgresUrl,
    EMC_DATA_DIR: dataDir,
    EMC_PROVIDER: 'process',
    EMC_LOG_LEVEL: 'warn',
    EMC_MIN_NODES: '1',
    EMC_MAX_NODES: '5',
    EMC_POOL_LOCK_TTL_S: String(TTL_S),
    EMC_POOL_SYNC_MS: String(SYNC_MS),
    EMC_RECONCILE_S: '1',
    EMC_CACHE_TIMEOUT_MS: '1000',
    EMC_RESIZE_WAIT_S: '20',
    EMC_SCALER_INTERVAL_S: '1',
    EMC_STATS_INTERVAL_S: '0.5',
  };
  const roles: EmcProcess[] = [];
  const start = async (role: 'manager' | 'web' | 'scaler', env: Record<string, string> = {}) => {
    const port = role === 'scaler' ? 0 : await freePort();
    const proc = runEmc(['start', '--role', role], {
      ...shared,
      ...(role === 'manager' ? { EMC_MANAGER_PORT: String(port), EMC_ADMIN_PASSWORD: PASSWORD } : role === 'web' ? { EMC_WEB_PORT: String(port) } : {}),
      ...env,
    });
    roles.push(proc);
    if (role !== 'scaler') await waitForHealth(`http://127.0.0.1:${port}/health`, 30_000);
    return { proc, origin: `http://127.0.0.1:${port}` };
  };
  const members = async () =>
    (await sql.query<{ id: string; instanceId: string; address: string }>(`SELECT id, "instanceId", address FROM "PoolNode" WHERE state = 'active' ORDER BY id`)).rows;
  const pids = async () => (await members()).map((m) => Number(m.instanceId.replace('pid:', '')));
  const state = async () => (await sql.query(`SELECT * FROM "PoolState" WHERE id = 1`)).rows[0] as Record<string, unknown> | undefined;

  t.after(async () => {
    // Cache nodes outlive their manager by design: stop every one this test caused.
    const nodes = [...(await pids().catch(() => [])), ...(await childrenOf(roles.map((r) => r.child.pid!)))];
    killAll(roles.map((r) => r.child.pid!));
    killAll(nodes);
    assert.deepEqual(await survivors([...nodes, ...roles.map((r) => r.child.pid!)], 10_000), [], 'nothing left running');
    await sql.end();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { start, sql, members, pids, state, roles };
}

const api = (origin: string, query: string) => fetch(`${origin}/api/configure_cache?${query}`, { method: 'POST' }).then(async (r) => ({ status: r.status, body: (await r.json()) as { numNodes: number; error: { message: string } } }));

/** The token the fleet generated for its nodes (none is configured here): the leader starts them with it. */
async function cacheToken(fleet: Fleet): Promise<string> {
  return (await fleet.sql.query(`SELECT value FROM "SharedSecret" WHERE name = 'cache-token'`)).rows[0].value;
}

async function nodeConfig(address: string, token: string): Promise<[string, number]> {
  const answer = await fetch(`${address}/stats`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 200, `${address}/stats`);
  const stats = (await answer.json()) as { policy: string; capacityBytes: number };
  return [stats.policy, stats.capacityBytes];
}

async function leaderPid(fleet: Fleet): Promise<number> {
  const row = await fleet.state();
  return Number(String(row?.leaderId ?? '').split(':')[1]);
}

test('managers, web and scaler as processes: one leader applies every change, faults heal', { timeout: 240_000 }, async (t) => {
  const fleet = await startFleet(t);
  const managerA = await fleet.start('manager');
  const managerB = await fleet.start('manager');
  const web = await fleet.start('web');
  await eventually('the leader brought the pool to its minimum', 30_000, async () => (await fleet.members()).length === 1);
  const firstLeader = await leaderPid(fleet);
  assert.ok([managerA.proc.child.pid, managerB.proc.child.pid].includes(firstLeader), 'one of the managers leads');

  await t.test('two concurrent +1 through two different managers give +2', async () => {
    const clients = [new HttpConsoleClient(managerA.origin), new HttpConsoleClient(managerB.origin)];
    for (const client of clients) assert.equal((await client.login(PASSWORD)).status, 302);
    const answers = await Promise.all(clients.map((client) => client.post('/pool/grow', {}, { csrfFrom: '/pool' })));
    assert.deepEqual(answers.map((a) => a.status), [302, 302]);
    assert.equal((await fleet.members()).length, 3, 'both clicks counted');
    const events = (await fleet.sql.query(`SELECT "fromNodes", "toNodes", reason FROM "ScalingEvent" WHERE actor = 'operator' ORDER BY id`)).rows;
    assert.deepEqual(events.map((e) => [e.fromNodes, e.toNodes]), [[1, 2], [2, 3]]);
  });

  await t.test('a resize asked through any host reaches the asked size, or says plainly it did not', async () => {
    const viaWeb = await api(web.origin, 'numNodes=2');
    assert.deepEqual([viaWeb.status, viaWeb.body.numNodes], [200, 2], JSON.stringify(viaWeb.body));
    const standby = firstLeader === managerA.proc.child.pid ? managerB : managerA;
    const viaStandby = await api(standby.origin, 'numNodes=3');
    assert.deepEqual([viaStandby.status, viaStandby.body.numNodes], [200, 3], JSON.stringify(viaStandby.body));
    assert.equal((await api(web.origin, '')).body.numNodes, 3, 'the web host counts what the leader recorded');
    const refused = await api(web.origin, 'numNodes=9');
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /cannot grow above its maximum of 5 nodes/);
  });

  await t.test('a configuration change reaches a node that joins during it', async () => {
    const [grown, configured] = await Promise.all([api(web.origin, 'numNodes=5'), api(managerA.origin, 'cacheSize=16&policy=RR')]);
    assert.equal(grown.status, 200, JSON.stringify(grown.body));
    assert.equal(configured.status, 200, JSON.stringify(configured.body));
    const members = await fleet.members();
    assert.equal(members.length, 5);
    const token = await cacheToken(fleet);
    assert.equal((await fetch(`${members[0]!.address}/stats`)).status, 401, 'a node the product started is never open');
    for (const m of members) assert.deepEqual(await nodeConfig(m.address, token), ['RR', 16 << 20], `${m.id} runs the new configuration`);
  });

  await t.test('a node that dies in manual mode is replaced to keep the desired size', async () => {
    const before = await fleet.members();
    const victim = before[1]!;
    process.kill(Number(victim.instanceId.replace('pid:', '')), 'SIGKILL');
    const after = await eventually('the dead node was replaced', 20_000, async () => {
      const now = await fleet.members();
      return now.length === 5 && !now.some((m) => m.instanceId === victim.instanceId) && now;
    });
    assert.equal(after.length, 5);
    const event = (await fleet.sql.query(`SELECT actor, reason FROM "ScalingEvent" ORDER BY id DESC LIMIT 1`)).rows[0];
    assert.equal(event.actor, 'manager');
    assert.match(event.reason, new RegExp(`${victim.id} stopped answering; replacing it to keep 5 nodes`));
  });

  await t.test('kill -9 the leader: the standby leads within TTL + one interval; the nodes survive and are adopted', async () => {
    await api(web.origin, 'numNodes=2');
    const leader = await leaderPid(fleet);
    const standby = leader === managerA.proc.child.pid ? managerB : managerA;
    const nodes = await fleet.pids();
    const killedAt = Date.now();
    process.kill(leader, 'SIGKILL');
    const ledAfterMs = await eventually('the standby leads', 15_000, async () => (await leaderPid(fleet)) === standby.proc.child.pid && Date.now() - killedAt);
    assert.ok(ledAfterMs <= TTL_S * 1000 + SYNC_MS + 1000, `the standby led ${ledAfterMs} ms after the kill`);
    t.diagnostic(`failover: the standby led ${ledAfterMs} ms after the leader was killed (TTL ${TTL_S} s)`);
    assert.ok(nodes.every(alive), 'the cache nodes outlived their manager');
    assert.deepEqual(await fleet.pids(), nodes, 'and are still the members');
    // The new leader owns them: shrinking stops an adopted node.
    const shrunk = await api(standby.origin, 'numNodes=1');
    assert.deepEqual([shrunk.status, shrunk.body.numNodes], [200, 1], JSON.stringify(shrunk.body));
    const [kept] = await fleet.pids();
    assert.equal(kept, nodes[0]);
    assert.deepEqual(await survivors([nodes[1]!], 10_000), [], 'the adopted node that left was stopped');
  });

  await t.test('with no manager up, a resize says so plainly instead of hanging or failing with a 500', async () => {
    const managers = [managerA, managerB].filter((m) => alive(m.proc.child.pid!));
    for (const m of managers) m.proc.child.kill('SIGKILL');
    await eventually('no lease left', 10_000, async () => {
      const row = await fleet.state();
      return !row?.leaseExpiresAt || (row.leaseExpiresAt as Date).getTime() < Date.now();
    });
    const started = Date.now();
    const res = await fetch(`${web.origin}/api/configure_cache?numNodes=2`, { method: 'POST' });
    const body = (await res.json()) as { error: { message: string } };
    assert.equal(res.status, 503);
    assert.match(body.error.message, /no manager leads the pool right now: the change is recorded \(2 nodes wanted, 1 running\)/);
    assert.ok(Date.now() - started < 25_000);
  });
});

test('the scaler process stays up and keeps deciding across a database outage', { timeout: 120_000 }, async (t) => {
  const fleet = await startFleet(t);
  await fleet.start('manager');
  await eventually('the pool has its minimum', 30_000, async () => (await fleet.members()).length === 1);
  await fleet.sql.query(`INSERT INTO "ScalerPolicy" (id, mode, "updatedAt") VALUES (1, 'auto', now()) ON CONFLICT (id) DO UPDATE SET mode = 'auto'`);
  const scaler = await fleet.start('scaler');
  const decisions = async () => Number((await fleet.sql.query(`SELECT count(*) FROM "ScalingEvent" WHERE actor = 'scaler'`)).rows[0].count);
  await eventually('the scaler decides', 20_000, async () => (await decisions()) >= 2);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(scaler.proc.child.exitCode, null, 'alive after its first decisions (its timers are not all it has)');

  const terminated = await fleet.sql.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
  assert.ok(terminated.rowCount! > 0, 'connections were dropped');
  const after = await decisions();
  await eventually('the scaler decides again after the outage', 20_000, async () => (await decisions()) >= after + 2);
  assert.equal(scaler.proc.child.exitCode, null, 'the scaler process is still the same one');
  assert.equal(scaler.proc.child.signalCode, null);
});
