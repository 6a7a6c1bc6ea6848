// Makes moto's EC2 instances real: while moto reports a pool instance running, a cache node
// (`emc start --role cache`, as the AMI's unit starts it) listens on the instance's private IP
// with the pool's token; when the instance stops, its process is killed, as a power-off would.
// A node killed by a test while its instance runs stays dead until the instance is started
// again: an instance that hangs, not a process systemd would restart.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { POOL_TAG } from '../../src/scaling/ec2-instances.js';
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
};

export function startInstanceAgent({ ec2, poolTag, port, token, logDir, pollMs = 200 }: InstanceAgentOptions): InstanceAgent {
  const booted = new Map<string, RoleProcess>();
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
    booted.set(id, process);
    note(`${id} running: cache pid ${process.pid} on ${instance.PrivateIpAddress}:${port}`);
  }

  async function poll(): Promise<void> {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${POOL_TAG}`, Values: [poolTag] }] }), {
      abortSignal: AbortSignal.timeout(5000),
    });
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      const id = instance.InstanceId!;
      const mine = booted.get(id);
      const isRunning = instance.State?.Name === 'running';
      // moto keeps LaunchTime across a stop and start, so a stop and start within one poll would go
      // unseen; the provider's stop and start are several calls (and a health wait) apart.
      if (mine && !isRunning) {
        booted.delete(id);
        await mine.crash();
        note(`${id} ${instance.State?.Name}: cache pid ${mine.pid} killed`);
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
