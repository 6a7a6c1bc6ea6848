// The production shape on one machine: 2 web hosts (the second in a network namespace of its
// own), 2 managers and 1 scaler, each its own OS process, on a fresh PostgreSQL database, with
// the cache pool on the `process` provider or on `ec2` against moto_server (where an instance
// agent backs every running instance with a real cache process). Intervals are short so the
// control loops act within seconds.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHealth } from '../helpers/process.js';
import { createFleetDatabase, type FleetDatabase } from './fleet-database.js';
import { startInstanceAgent, type InstanceAgent } from './instance-agent.js';
import { startLoadBalancer, type LoadBalancer } from './load-balancer.js';
import { startFleetAws, type FleetAws } from './moto.js';
import { createNetnsHost, type NetnsHost } from './netns-host.js';
import { startTcpRelay } from './tcp-relay.js';
import { killAllGroups, processesWithEnv, spawnRole, type RoleName, type RoleProcess } from './role-process.js';

export type ProviderKind = 'process' | 'ec2';

/** One role's place in the fleet: its configuration stays, its process can crash and be started again. */
export type Host = {
  readonly name: string;
  readonly role: RoleName;
  /** Where its HTTP listener answers (none for the scaler). */
  readonly origin: string | undefined;
  process: RoleProcess;
  /** Starts a new process with the same configuration and waits until it serves. */
  restart(): Promise<void>;
};

export type PoolNodeRow = { id: string; instanceId: string | null; address: string | null; state: string };

/** ec2 with `webPool`: the managers run the web pool (EMC_WEB_POOL=ec2) on moto's instances. */
export type FleetWebPool = {
  readonly targetGroupArn: string;
  /** The target group's data plane: where look-ups through the load balancer go. */
  readonly loadBalancer: LoadBalancer;
  /** The port every worker listens on (EMC_WEB_PORT of the deployment). */
  readonly port: number;
};

export type Fleet = {
  readonly provider: ProviderKind;
  readonly db: FleetDatabase;
  readonly webs: [Host, Host];
  readonly managers: [Host, Host];
  readonly scaler: Host;
  /** The second web host's own network namespace. */
  readonly web2Host: NetnsHost;
  readonly adminPassword: string;
  readonly adminToken: string;
  readonly cacheToken: string;
  /** ec2 only: the agent that backs moto's instances with cache processes (and web workers, with `webPool`). */
  readonly agent: InstanceAgent | undefined;
  readonly webPool: FleetWebPool | undefined;
  /** ec2 only: a client of the fleet's moto server (its EC2 and ELBv2). */
  readonly aws: FleetAws | undefined;
  /** The pool's members as recorded in the database. */
  poolNodes(): Promise<PoolNodeRow[]>;
  /** The manager whose process holds an unexpired leader lease, if any. */
  leader(): Promise<Host | undefined>;
  /** After close: how many cache processes were still running once every role had stopped. */
  leftoverCacheNodes(): number;
  /** The last lines of every role's log, for a failure message. */
  logs(): string;
  /** Where every process's full log is. */
  readonly logDir: string;
  close(): Promise<void>;
};

export type FleetOptions = {
  provider: ProviderKind;
  /** Names the database (emc_fleet_<name>) and the namespace (emcf-<name>w2). */
  name: string;
  /** 10.212.<octet>.0/29 holds the second web host's links. */
  octet: number;
  minNodes?: number;
  maxNodes?: number;
  /** ec2 only: run the web pool on moto's instances, within these bounds. */
  webPool?: { minWorkers: number; maxWorkers: number };
  /** Settings of every role that differ from the fleet's (e.g. a longer EMC_RESIZE_WAIT_S). */
  env?: Record<string, string>;
};

/** The control loops' timing in the fleet: seconds where production has a minute. */
export const FLEET_TIMING = { leaseTtlMs: 5000, syncMs: 250, scalerMs: 2000, statsMs: 1000, healthMs: 2000, resizeWaitMs: 15_000 };

const INTERVALS = {
  EMC_SCALER_INTERVAL_S: String(FLEET_TIMING.scalerMs / 1000),
  EMC_STATS_INTERVAL_S: String(FLEET_TIMING.statsMs / 1000),
  EMC_RECONCILE_S: String(FLEET_TIMING.healthMs / 1000),
  EMC_POOL_SYNC_MS: String(FLEET_TIMING.syncMs),
  EMC_POOL_LOCK_TTL_S: String(FLEET_TIMING.leaseTtlMs / 1000),
  EMC_RESIZE_WAIT_S: String(FLEET_TIMING.resizeWaitMs / 1000),
  EMC_CACHE_TIMEOUT_MS: '500',
};

async function untilLogged(process: RoleProcess, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!process.logTail(200).includes(text)) {
    if (!process.alive()) throw new Error(`${process.name} exited before logging "${text}":\n${process.logTail()}`);
    if (Date.now() > deadline) throw new Error(`${process.name} did not log "${text}" within ${timeoutMs} ms:\n${process.logTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startFleet({ provider, name, octet, minNodes = 1, maxNodes = 4, webPool: workerBounds, env: overrides = {} }: FleetOptions): Promise<Fleet> {
  const logDir = mkdtempSync(join(tmpdir(), `emcf-${name}-`));
  const started: { close(): unknown }[] = [];
  const closeAll = async () => {
    for (const resource of started.reverse()) await resource.close();
    killAllGroups();
  };
  try {
    const db = await createFleetDatabase(`emc_fleet_${name}`);
    started.push(db);
    const web2Host = createNetnsHost(`${name}w2`, octet);
    started.push({ close: () => web2Host.destroy() });
    const secrets = {
      adminPassword: randomBytes(9).toString('base64url'),
      adminToken: randomBytes(18).toString('base64url'),
      cacheToken: randomBytes(18).toString('base64url'),
    };
    const env: Record<string, string> = {
      ...INTERVALS,
      DATABASE_URL: db.url,
      EMC_PROVIDER: provider,
      EMC_MIN_NODES: String(minNodes),
      EMC_MAX_NODES: String(maxNodes),
      EMC_DATA_DIR: join(logDir, 'data'),
      EMC_ADMIN_TOKEN: secrets.adminToken,
      EMC_CACHE_TOKEN: secrets.cacheToken,
      EMC_LOG_LEVEL: 'info',
      ...overrides,
    };
    let agent: InstanceAgent | undefined;
    let webPool: FleetWebPool | undefined;
    let aws: FleetAws | undefined;
    if (workerBounds && provider !== 'ec2') throw new Error('the fleet runs its web pool on the ec2 provider only');
    if (provider === 'ec2') {
      // Two servers: the images' S3 traffic under load must not slow the EC2 calls of the control plane.
      const moto = await startFleetAws(join(logDir, 'moto-ec2.log'));
      started.push(moto);
      const s3 = await startFleetAws(join(logDir, 'moto-s3.log'));
      started.push(s3);
      const poolTag = `emcf-${name}`;
      const bucket = `emcf-${name}-images`;
      await moto.createPool(poolTag, maxNodes + 1);
      await s3.createBucket(bucket);
      const cachePort = await freePort();
      Object.assign(env, moto.env, {
        EMC_EC2_POOL_TAG: poolTag,
        EMC_CACHE_PORT: String(cachePort),
        EMC_BLOB_STORE: 's3',
        EMC_S3_BUCKET: bucket,
        EMC_S3_ENDPOINT: s3.endpoint,
      });
      aws = moto;
      let web: Parameters<typeof startInstanceAgent>[0]['web'];
      if (workerBounds) {
        const port = await freePort();
        const template = `emcf-${name}-web`;
        const { targetGroupArn } = await moto.createWebPool(template, port);
        Object.assign(env, {
          EMC_WEB_POOL: 'ec2',
          EMC_MIN_WORKERS: String(workerBounds.minWorkers),
          EMC_MAX_WORKERS: String(workerBounds.maxWorkers),
          EMC_ALB_TARGET_GROUP_ARN: targetGroupArn,
          EMC_EC2_WEB_LAUNCH_TEMPLATE: template,
          EMC_WEB_PORT: String(port),
        });
        const loadBalancer = startLoadBalancer({ elb: moto.elb(), targetGroupArn, addressOf: (id) => agent?.webAddress(id) });
        started.push({ close: () => loadBalancer.stop() });
        webPool = { targetGroupArn, loadBalancer, port };
        web = { env: { ...env }, beforeShutdown: () => loadBalancer.refresh() };
      }
      agent = startInstanceAgent({ ec2: moto.ec2(), poolTag, port: cachePort, token: secrets.cacheToken, logDir, web });
      started.push({ close: () => agent!.stop() });
    }

    const host = async (hostName: string, role: RoleName, own: Record<string, string>, origin?: string, netns?: string): Promise<Host> => {
      const spawn = () => spawnRole({ name: hostName, role, env: { ...env, ...own }, logDir, netns });
      const ready = async (p: RoleProcess) => {
        if (origin) await waitForHealth(`${origin}/health`, 90_000).catch((err: Error) => {
          throw new Error(`${hostName}: ${err.message}\n${p.logTail()}`);
        });
        else await untilLogged(p, 'scaler started', 30_000);
      };
      const h: Host = {
        name: hostName,
        role,
        origin,
        process: spawn(),
        async restart() {
          if (h.process.alive()) await h.process.stop();
          h.process = spawn();
          await ready(h.process);
        },
      };
      await ready(h.process);
      return h;
    };
    const listening = async (role: 'web' | 'manager', address: string) => {
      const port = await freePort();
      const portVar = role === 'web' ? 'EMC_WEB_PORT' : 'EMC_MANAGER_PORT';
      return { own: { EMC_HOST: address, [portVar]: String(port) }, origin: `http://${address}:${port}` };
    };
    const consoleEnv = { EMC_ADMIN_PASSWORD: secrets.adminPassword, EMC_SESSION_SECRET: randomBytes(24).toString('hex') };

    // Managers first: the first one brings the pool to its minimum before it serves.
    const managers: Host[] = [];
    for (const i of [1, 2]) {
      const { own, origin } = await listening('manager', '127.0.0.1');
      managers.push(await host(`manager${i}`, 'manager', { ...own, ...consoleEnv }, origin));
    }
    const web1 = await listening('web', '127.0.0.1');
    const web2 = await listening('web', web2Host.address);
    const dbUrl = new URL(db.url);
    const relay = await startTcpRelay(web2Host.gateway, { host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    started.push(relay);
    dbUrl.host = `${web2Host.gateway}:${relay.port}`;
    const web2Env = { ...web2.own, DATABASE_URL: dbUrl.toString() };
    const webs = [await host('web1', 'web', web1.own, web1.origin), await host('web2', 'web', web2Env, web2.origin, web2Host.netns)];
    const scaler = await host('scaler', 'scaler', {});
    const all = [...managers, ...webs, scaler];
    let leftoverCacheNodes = 0;

    return {
      provider,
      db,
      webs: webs as [Host, Host],
      managers: managers as [Host, Host],
      scaler,
      web2Host,
      ...secrets,
      logDir,
      agent,
      webPool,
      aws,
      leftoverCacheNodes: () => leftoverCacheNodes,
      poolNodes: () => db.query<PoolNodeRow>('SELECT id, "instanceId", address, state FROM "PoolNode" ORDER BY id'),
      async leader() {
        const [state] = await db.query<Record<string, unknown>>('SELECT * FROM "PoolState" WHERE id = 1');
        const holder = state?.leaderId;
        const live = state?.leaseExpiresAt instanceof Date && state.leaseExpiresAt.getTime() > Date.now();
        // The holder is <hostname>:<pid>:<random> (src/services.ts).
        return typeof holder === 'string' && live ? managers.find((m) => holder.split(':')[1] === String(m.process.pid)) : undefined;
      },
      logs: () => all.map((h) => `--- ${h.name} (pid ${h.process.pid}, ${h.process.status()})\n${h.process.logTail(15)}`).join('\n'),
      async close() {
        await Promise.all(all.map((h) => h.process.stop(5000)));
        await closeAll();
        // Cache nodes that outlive their manager run in process groups of their own: found by this fleet's token.
        const leftovers = processesWithEnv(`EMC_CACHE_TOKEN=${secrets.cacheToken}`);
        for (const pid of leftovers) process.kill(pid, 'SIGKILL');
        leftoverCacheNodes = leftovers.length;
        // The logs stay (a failed run is read from them); the images do not.
        rmSync(join(logDir, 'data'), { recursive: true, force: true });
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
