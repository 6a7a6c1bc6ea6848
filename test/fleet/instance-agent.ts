// Makes moto's EC2 instances real: while moto reports a pool instance running, a cache node
// (`emc start --role cache`, as the AMI's unit starts it) listens on the instance's private IP
// with the pool's token; when the instance stops, its process is killed, as a power-off would.
// A node killed by a test while its instance runs is started again `restartMs` after it died,
// as the AMI's unit does (Restart=always, RestartSec=5 in deploy/user-data.yaml.tpl).
// moto flips states at once and keeps LaunchTime across a stop and start, so a stop and start
// made within one poll (a release followed by a claim of the same instance) shows only as a
// running instance. The provider tags an instance for its node only while it is stopped, so a
// changed emc:node tag on a running instance means it was stopped and started meanwhile.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { CACHE_POOL_TAGS } from '../../src/scaling/ec2-instances.js';
import { spawnRole, type RoleProcess } from './role-process.js';

export type InstanceAgent = {
  /** kill -9 of one instance's cache process; the instance stays running in moto. */
  crash(instanceId: string): Promise<void>;
  stop(): Promise<void>;
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
};

export function startInstanceAgent({ ec2, poolTag, port, token, logDir, pollMs = 200, restartMs = 5000 }: InstanceAgentOptions): InstanceAgent {
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

  const loop = (async () => {
    while (running) {
      await poll().catch((err: Error) => note(`poll failed: ${err.message}`));
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();

  return {
    async crash(instanceId) {
      await booted.get(instanceId)?.crash();
    },
    async stop() {
      running = false;
      await loop;
      await Promise.all([...booted.values()].map((p) => p.crash()));
      booted.clear();
    },
  };
}
