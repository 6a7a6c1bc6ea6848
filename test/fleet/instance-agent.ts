// Makes moto's EC2 instances real: while moto reports a pool instance running, a cache node
// (`emc start --role cache`, as the AMI's unit starts it) listens on the instance's private IP
// with the pool's token; when the instance stops, its process is killed, as a power-off would.
// A node killed by a test while its instance runs is started again `restartMs` after it died,
// as the AMI's unit does (Restart=always, RestartSec=5 in deploy/user-data.yaml.tpl).
// moto flips states at once and keeps LaunchTime across a stop and start, so a stop and start
// made within one poll (a release followed by a claim of the same instance) shows only as a
// running instance. The provider tags an instance for its node only while it is stopped, so a
// changed emc:node tag on a running instance means it was stopped and started meanwhile.
// With `web`, instances of the web pool (tagged emc:web-pool) each get a web worker host of their
// own (web-worker-host.ts), shut down once EC2 reports the instance terminated, after the load
// balancer model has read the target group (see load-balancer.ts for why).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { CACHE_POOL_TAGS, WEB_POOL_TAGS } from '../../src/scaling/ec2-instances.js';
import { spawnRole, type RoleProcess } from './role-process.js';
import { startWebWorkerHost, type WebWorkerHost } from './web-worker-host.js';

export type InstanceAgent = {
  /** kill -9 of one instance's cache process; the instance stays running in moto. */
  crash(instanceId: string): Promise<void>;
  /** A running web worker instance's private IP, once its worker was started. */
  webAddress(instanceId: string): string | undefined;
  /** The web worker processes running now, by instance id. */
  webWorkers(): Map<string, RoleProcess>;
  stop(): Promise<void>;
};

export type WebInstances = {
  /** The deployment's environment for role web (its user-data's). */
  env: Record<string, string>;
  /** Called before terminated workers are shut down: the load balancer stops sending them requests. */
  beforeShutdown(): Promise<void>;
};

export type InstanceAgentOptions = {
  ec2: EC2Client;
  poolTag: string;
  /** EMC_CACHE_PORT of the deployment (every instance's node listens on it). */
  port: number;
  token: string;
  logDir: string;
  pollMs?: number;
  /** The unit's RestartSec. */
  restartMs?: number;
  /** Boot the web pool's instances (emc:web-pool=<poolTag>) too. */
  web?: WebInstances;
};

export function startInstanceAgent({ ec2, poolTag, port, token, logDir, pollMs = 200, restartMs = 5000, web }: InstanceAgentOptions): InstanceAgent {
  const booted = new Map<string, RoleProcess & { nodeTag: string | undefined; diedAt(): number | undefined }>();
  const nodeTagOf = (instance: Instance) => instance.Tags?.find((t) => t.Key === CACHE_POOL_TAGS.member)?.Value;
  const note = (line: string) => appendFileSync(join(logDir, 'instance-agent.log'), `${new Date().toISOString()} ${line}\n`);
  let running = true;

  function boot(instance: Instance): void {
    const id = instance.InstanceId!;
    const process = spawnRole({
      name: `cache-${id}-${Date.now()}`,
      role: 'cache',
      logDir,
      env: { EMC_HOST: instance.PrivateIpAddress!, EMC_CACHE_PORT: String(port), EMC_CACHE_TOKEN: token, EMC_LOG_LEVEL: 'warn' },
    });
    let diedAt: number | undefined;
    void process.exited.then(() => (diedAt = Date.now()));
    booted.set(id, Object.assign(process, { nodeTag: nodeTagOf(instance), diedAt: () => diedAt }));
    note(`${id} running: cache pid ${process.pid} on ${instance.PrivateIpAddress}:${port}`);
  }

  async function poll(): Promise<void> {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${CACHE_POOL_TAGS.pool}`, Values: [poolTag] }] }), {
      abortSignal: AbortSignal.timeout(5000),
    });
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const id = instance.InstanceId!;
      const mine = booted.get(id);
      const isRunning = instance.State?.Name === 'running';
      const restarted = isRunning && mine !== undefined && mine.nodeTag !== nodeTagOf(instance);
      if (mine && (!isRunning || restarted)) {
        booted.delete(id);
        await mine.crash();
        note(`${id} ${restarted ? 'stopped and started within one poll' : instance.State?.Name}: cache pid ${mine.pid} killed`);
      }
      const died = mine?.diedAt();
      if (isRunning && !restarted && died !== undefined && Date.now() - died >= restartMs) {
        booted.delete(id);
        note(`${id} running: cache pid ${mine!.pid} died ${Date.now() - died} ms ago, restarted as its unit would`);
      }
      if (isRunning && !booted.has(id)) boot(instance);
    }
  }

  const workers = new Map<string, WebWorkerHost & { ip: string }>();
  let hostsMade = 0;

  async function pollWeb(w: WebInstances): Promise<void> {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${WEB_POOL_TAGS.pool}`, Values: [poolTag] }] }), {
      abortSignal: AbortSignal.timeout(5000),
    });
    const instances = (page.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    const gone = instances.filter((i) => i.State?.Name !== 'running' && workers.has(i.InstanceId!)).map((i) => i.InstanceId!);
    if (gone.length > 0) {
      await w.beforeShutdown();
      for (const id of gone) {
        const host = workers.get(id)!;
        workers.delete(id);
        await host.shutdown();
        note(`${id} no longer running: web worker pid ${host.process.pid} stopped (${host.process.status()}), its host removed`);
      }
    }
    for (const instance of instances) {
      const id = instance.InstanceId!;
      const workerId = instance.Tags?.find((t) => t.Key === WEB_POOL_TAGS.member)?.Value;
      if (instance.State?.Name !== 'running' || workers.has(id) || !workerId || !instance.PrivateIpAddress) continue;
      hostsMade++;
      const host = await startWebWorkerHost({
        instanceId: id,
        privateIp: instance.PrivateIpAddress,
        workerId,
        env: w.env,
        name: `wk${hostsMade}`,
        octet: 20 + hostsMade,
        logDir,
      });
      workers.set(id, Object.assign(host, { ip: instance.PrivateIpAddress }));
      note(`${id} running: web worker ${workerId} pid ${host.process.pid} on ${instance.PrivateIpAddress}`);
    }
  }

  const loop = (async () => {
    while (running) {
      await poll().catch((err: Error) => note(`poll failed: ${err.message}`));
      if (web) await pollWeb(web).catch((err: Error) => note(`web poll failed: ${err.message}`));
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();

  return {
    async crash(instanceId) {
      await booted.get(instanceId)?.crash();
    },
    webAddress: (instanceId) => workers.get(instanceId)?.ip,
    webWorkers: () => new Map([...workers].map(([id, host]) => [id, host.process])),
    async stop() {
      running = false;
      await loop;
      await Promise.all([...booted.values()].map((p) => p.crash()));
      booted.clear();
      await Promise.all([...workers.values()].map((host) => host.shutdown()));
      workers.clear();
    },
  };
}
