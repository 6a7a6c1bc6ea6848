// The fleet suite's scenarios (issue 12, item 7), run once per provider on one fleet each:
// every fault under real look-up load over HTTP, each asserting that no look-up failed, and
// the measured figures (failover time, failed look-ups per fault) printed at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { images as fixtures } from '../helpers/fixtures.js';
import { eventually } from '../helpers/fault-load.js';
import { HttpConsoleClient } from '../helpers/http-console.js';
import { callApi, numNodesAt, upload } from './fleet-api.js';
import { FLEET_TIMING, startFleet, type Fleet, type FleetOptions, type Host } from './fleet.js';
import { describeFailures, lookupLoad, type LookupReport } from './lookup-load.js';

// ~40 KB each, distinct bytes: 60 of them overflow a 1 MB node, so cyclic reads miss there.
const images = new Map(Array.from({ length: 60 }, (_, i) => [`fleet-${i}`, Buffer.concat([fixtures.png, randomBytes(40_000)])] as const));
// The lease lapses at most its TTL after the crash; "one interval": the leader's health interval.
const FAILOVER_BOUND_MS = FLEET_TIMING.leaseTtlMs + FLEET_TIMING.healthMs;

/** A cache node answers its health check. */
async function serves(address: string | null): Promise<boolean> {
  try {
    return address !== null && (await fetch(`${address}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

type Figures = { failover?: number; faults: Record<string, string> };

export function fleetSuite(options: FleetOptions): void {
  describe(`the fleet on the ${options.provider} provider`, { timeout: 300_000 }, () => {
    let fleet: Fleet;
    const figures: Figures = { faults: {} };
    const begun = Date.now();
    const origins = () => fleet.webs.map((w) => w.origin!);
    const api = (host: Host, path: string, query: Record<string, string> = {}) => callApi(host.origin!, path, { token: fleet.adminToken, query });
    /** Every web and manager host reports `n` nodes (the message shows what each reported last). */
    async function everyHostReports(n: number, timeoutMs: number): Promise<void> {
      const hosts = [...fleet.webs, ...fleet.managers];
      let seen: (number | string)[] = [];
      try {
        await eventually(async () => (seen = await Promise.all(hosts.map((h) => numNodesAt(h.origin!)))).every((v) => v === n), timeoutMs, `every host reports ${n} nodes`);
      } catch (err) {
        const members = (await fleet.poolNodes()).map((m) => `${m.id}=${m.instanceId}`).join(' ');
        throw new Error(`${(err as Error).message}; last: ${hosts.map((h, i) => `${h.name} ${seen[i]}`).join(', ')}; database members: ${members}`);
      }
    }
    const manual = async (numNodes: number) => {
      const { status, body } = await api(fleet.webs[0], 'configure_cache', { mode: 'manual', numNodes: String(numNodes), cacheSize: '64' });
      assert.equal(status, 200, JSON.stringify(body));
    };
    /** Runs `fault` while look-ups stream to `targets`, records and asserts the failures. */
    async function underLoad(t: TestContext, name: string, targets: string[], fault: () => Promise<void>): Promise<LookupReport> {
      const load = lookupLoad(targets, images, { maxMs: 90_000 });
      let report: LookupReport;
      try {
        await eventually(() => load.lookups() > 50, 20_000, 'the look-up load is running');
        await fault();
        const atFault = load.lookups();
        await eventually(() => load.lookups() > atFault + 200, 30_000, 'look-ups went on after the fault');
      } finally {
        report = await load.stop();
        figures.faults[name] = `${report.failures.length} failed of ${report.lookups}`;
        t.diagnostic(`${name}: ${describeFailures(report)}`);
        assert.equal(report.failures.length, 0, describeFailures(report));
      }
      return report;
    }

    before(async () => {
      fleet = await startFleet(options);
    });

    after(async () => {
      const seconds = ((Date.now() - begun) / 1000).toFixed(1);
      console.log(
        `fleet ${options.provider}: ${seconds} s; failover ${figures.failover === undefined ? 'not measured' : `${figures.failover} ms`}; ` +
          `failed look-ups: ${Object.entries(figures.faults).map(([k, v]) => `${k} ${v}`).join(', ') || 'none measured'}` +
          `${fleet ? `; logs in ${fleet.logDir}` : ''}`,
      );
      await fleet?.close();
      if (fleet) console.log(`fleet ${options.provider}: ${fleet.leftoverCacheNodes()} cache processes were still running after every role stopped (killed by the harness)`);
    });

    it('no role exits on its own (the scaler included)', async () => {
      await new Promise((r) => setTimeout(r, 3000));
      const gone = [...fleet.webs, ...fleet.managers, fleet.scaler].filter((h) => !h.process.alive());
      assert.deepEqual(gone.map((h) => `${h.name} ${h.process.status()}`), [], fleet.logs());
    });

    it('an image uploaded through one web host is read through the other', async () => {
      for (const [key, bytes] of images) {
        const { status, body } = await upload(fleet.webs[0].origin!, key, bytes);
        assert.equal(status, 200, JSON.stringify(body));
      }
      for (const [key, bytes] of images) {
        const res = await fetch(`${fleet.webs[1].origin}/image/${key}`);
        assert.equal(res.status, 200, key);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), `${key}: the same bytes`);
      }
    });

    it('a resize through the API reaches the asked size on every host', async () => {
      const grown = await api(fleet.webs[0], 'configure_cache', { mode: 'manual', numNodes: '3' });
      assert.equal(grown.status, 200, JSON.stringify(grown.body));
      assert.equal(grown.body.numNodes, 3, `the answer says what was applied: ${JSON.stringify(grown.body)}`);
      await everyHostReports(3, 20_000);
      const shrunk = await api(fleet.webs[1], 'configure_cache', { mode: 'manual', numNodes: '2' });
      assert.equal(shrunk.body.numNodes, 2, JSON.stringify(shrunk.body));
      await everyHostReports(2, 20_000);
      assert.equal((await fleet.poolNodes()).length, 2, 'the database records 2 members');
    });

    it('two concurrent console +1 clicks on two managers give +2', async (t) => {
      await manual(2);
      const consoles = fleet.managers.map((m) => new HttpConsoleClient(m.origin!));
      for (const c of consoles) assert.equal((await c.login(fleet.adminPassword)).status, 302, 'logged in');
      const answers = await Promise.all(consoles.map((c) => c.post('/pool/grow', {}, { csrfFrom: '/pool' })));
      assert.deepEqual(answers.map((a) => a.status), [302, 302]);
      const flashes = await Promise.all(consoles.map(async (c) => /class="notice [^"]*flash"[^>]*>([^<]*)</.exec((await c.get('/pool')).body)?.[1]?.trim()));
      t.diagnostic(`the two managers answered: ${flashes.join(' | ')}`);
      await everyHostReports(4, 30_000);
      const back = await consoles[1]!.post('/pool/shrink', {}, { csrfFrom: '/pool' });
      assert.equal(back.status, 302);
      await everyHostReports(3, 30_000);
    });

    it('the separate scaler grows the pool under misses and shrinks it when idle', async () => {
      if (!fleet.scaler.process.alive()) await fleet.scaler.restart();
      await manual(1);
      await everyHostReports(1, 20_000);
      // A 1 MB node holds fewer than half of the 60 images: reading them in turn misses every time.
      const auto = await api(fleet.webs[0], 'configure_cache', { mode: 'auto', cacheSize: '1', maxMiss: '0.5', minMiss: '0.1', expRatio: '2', shrinkRatio: '0.5' });
      assert.equal(auto.status, 200, JSON.stringify(auto.body));
      const load = lookupLoad(origins(), images, { maxMs: 60_000 });
      try {
        await eventually(async () => Number(await numNodesAt(fleet.webs[0].origin!)) >= 2, 30_000, 'the scaler grew the pool');
      } finally {
        const report = await load.stop();
        assert.equal(report.failures.length, 0, describeFailures(report));
      }
      await eventually(async () => (await numNodesAt(fleet.webs[0].origin!)) === 1, 30_000, 'the scaler shrank the idle pool to its minimum');
      await manual(2);
    });

    it('kill -9 of the scaler: a restarted scaler decides again', async () => {
      await api(fleet.webs[0], 'configure_cache', { mode: 'auto', maxMiss: '0.9', minMiss: '0.01' });
      const decisionsSince = async (at: Date) =>
        Number((await fleet.db.query<{ n: string }>(`SELECT count(*) AS n FROM "ScalingEvent" WHERE actor = 'scaler' AND at > $1`, [at]))[0]!.n);
      if (!fleet.scaler.process.alive()) await fleet.scaler.restart();
      await fleet.scaler.process.crash();
      await fleet.scaler.restart();
      const restartedAt = new Date();
      await eventually(async () => (await decisionsSince(restartedAt)) >= 2, 20_000, 'the restarted scaler recorded decisions');
      await manual(2);
    });

    it('kill -9 of the leader manager under read load: the standby leads within TTL + one interval, the cache is kept', async (t) => {
      await manual(2);
      await everyHostReports(2, 20_000);
      for (const key of images.keys()) await fetch(`${fleet.webs[0].origin}/image/${key}`).then((r) => r.arrayBuffer());
      const before = await fleet.poolNodes();
      const leased = await fleet.leader();
      // Without a lease in the schema, the first manager (which brought the pool up) is killed all the same, to see what it takes down.
      const leader = leased ?? fleet.managers[0];
      const standby = fleet.managers.find((m) => m !== leader)!;
      let failover: number | undefined;
      await underLoad(t, 'leader kill', origins(), async () => {
        const killedAt = Date.now();
        await leader.process.crash();
        if (!leased) return;
        await eventually(async () => (await fleet.leader()) === standby, FAILOVER_BOUND_MS + 10_000, 'the standby took the lease');
        failover = Date.now() - killedAt;
      });
      const afterNodes = await fleet.poolNodes();
      try {
        assert.ok(leased, 'a manager holds the leader lease (PoolState.leaderId names its process)');
        assert.ok(failover !== undefined, 'the standby took the lease');
        figures.failover = failover;
        t.diagnostic(`failover: ${failover} ms`);
        assert.ok(failover! <= FAILOVER_BOUND_MS, `failover within TTL + one interval: ${failover} ms, bound ${FAILOVER_BOUND_MS} ms`);
        assert.deepEqual(afterNodes.map((n) => n.instanceId), before.map((n) => n.instanceId), 'the same nodes serve: the cache was not emptied');
      } finally {
        await leader.restart();
      }
    });

    it('every database connection terminated: all roles recover', async (t) => {
      await api(fleet.webs[0], 'configure_cache', { mode: 'auto', maxMiss: '0.9', minMiss: '0.01' });
      let terminatedAt = new Date();
      await underLoad(t, 'database connections terminated', origins(), async () => {
        terminatedAt = new Date();
        // Three rounds, so some queries are caught in flight, not only idle connections.
        for (let round = 0; round < 3; round++) {
          t.diagnostic(`terminated ${await fleet.db.terminateAll()} connections`);
          await new Promise((r) => setTimeout(r, 300));
        }
      });
      const gone = [...fleet.webs, ...fleet.managers, fleet.scaler].filter((h) => !h.process.alive());
      assert.deepEqual(gone.map((h) => `${h.name} ${h.process.status()}`), [], `every role is still running:\n${fleet.logs()}`);
      await eventually(
        async () => Number((await fleet.db.query<{ n: string }>(`SELECT count(*) AS n FROM "ScalingEvent" WHERE actor = 'scaler' AND at > $1`, [terminatedAt]))[0]!.n) >= 1,
        20_000,
        'the scaler decides again after the outage',
      );
      await manual(2);
      await everyHostReports(2, 20_000);
      for (const m of fleet.managers) assert.equal((await new HttpConsoleClient(m.origin!).login(fleet.adminPassword)).status, 302, `${m.name}: the console logs in`);
    });

    it('kill -9 of one cache node under read load: no look-up fails, the pool is restored to its size', async (t) => {
      await manual(2);
      await everyHostReports(2, 20_000);
      const [victim] = await fleet.poolNodes();
      assert.ok(victim?.instanceId, 'a member to kill');
      await underLoad(t, 'cache node kill', origins(), async () => {
        if (fleet.agent) await fleet.agent.crash(victim.instanceId!);
        else process.kill(Number(victim.instanceId!.replace('pid:', '')), 'SIGKILL');
      });
      // Replaced: two members, each answering its health check (on ec2 the same instance may be stopped and started again).
      let members: string[] = [];
      await eventually(
        async () => {
          const nodes = await fleet.poolNodes();
          const answers = await Promise.all(nodes.map((n) => serves(n.address)));
          members = nodes.map((n, i) => `${n.id}=${n.instanceId} ${answers[i] ? 'serving' : 'not answering'}`);
          return nodes.length === 2 && answers.every(Boolean);
        },
        30_000,
        'the dead node was replaced: 2 members again, each serving',
      ).catch((err: Error) => {
        throw new Error(`${err.message}; killed ${victim.id}=${victim.instanceId}; members now: ${members.join(', ')}`);
      });
      await everyHostReports(2, 20_000);
    });

    it('a web host restarted: the other serves meanwhile, the restarted one follows the pool', async (t) => {
      const [web1, web2] = fleet.webs;
      await underLoad(t, 'web host restart', [web2.origin!], () => web1.restart());
      for (const [key, bytes] of images) {
        const res = await fetch(`${web1.origin}/image/${key}`);
        assert.ok(res.status === 200 && Buffer.from(await res.arrayBuffer()).equals(bytes), `${key} through the restarted host`);
      }
      assert.equal(await numNodesAt(web1.origin!), await numNodesAt(fleet.managers[0].origin!));
    });

    it('a web host cut off one cache node serves its look-ups from the store meanwhile', async (t) => {
      const [node] = await fleet.poolNodes();
      const { hostname, port } = new URL(node!.address!);
      const web2 = fleet.webs[1].origin!;
      try {
        await underLoad(t, 'web host cut off a cache node', [web2], async () => {
          fleet.web2Host.cut(hostname, Number(port));
          await new Promise((r) => setTimeout(r, 3000));
        });
      } finally {
        fleet.web2Host.heal();
      }
      await underLoad(t, 'after the link healed', [web2], () => new Promise((r) => setTimeout(r, 1000)));
    });

    it('with no manager up, a resize says plainly it was not applied; the next leader applies it', async () => {
      await manual(2);
      await everyHostReports(2, 20_000);
      await Promise.all(fleet.managers.map((m) => m.process.stop()));
      const asked = Date.now();
      const answer = await api(fleet.webs[0], 'configure_cache', { mode: 'manual', numNodes: '3' });
      const tookMs = Date.now() - asked;
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.match(JSON.stringify(answer.body), /recorded/, 'the answer says the change is recorded, not applied');
      assert.ok(tookMs < FLEET_TIMING.resizeWaitMs + 2000, `answered within the resize wait (${tookMs} ms)`);
      await Promise.all(fleet.managers.map((m) => m.restart()));
      await everyHostReports(3, 30_000);
    });
  });
}
