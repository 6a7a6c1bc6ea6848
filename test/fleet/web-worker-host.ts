// One web worker's EC2 instance made real: a network namespace whose address is the instance's
// private IP (moto ignores the launch template's subnet and picks one in 10.0.0.0/8, which this
// machine routes to the namespace's link: a /32 per worker), the database through a relay on that link, and
// `emc start --role web` inside it with the environment its user-data gives it: the
// deployment's settings, EMC_WORKER_ID from its emc:worker tag and EMC_INSTANCE_ID.
import { createNetnsHost } from './netns-host.js';
import { spawnRole, type RoleProcess } from './role-process.js';
import { startTcpRelay } from './tcp-relay.js';

export type WebWorkerHost = {
  readonly process: RoleProcess;
  /** As EC2 terminates an instance: the OS stops the unit (SIGTERM), then the host is gone. */
  shutdown(): Promise<void>;
};

export type WebWorkerHostOptions = {
  instanceId: string;
  privateIp: string;
  workerId: string;
  /** The deployment's environment (what the web user-data writes), DATABASE_URL included. */
  env: Record<string, string>;
  /** Short and unique among the fleet's namespaces (emcf-<name>…, at most 5 characters). */
  name: string;
  /** 10.212.<octet>.0/29 holds the host's links. */
  octet: number;
  logDir: string;
};

export async function startWebWorkerHost({ instanceId, privateIp, workerId, env, name, octet, logDir }: WebWorkerHostOptions): Promise<WebWorkerHost> {
  const host = createNetnsHost(name, octet, privateIp);
  try {
    const dbUrl = new URL(env.DATABASE_URL!);
    const relay = await startTcpRelay(host.gateway, { host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    dbUrl.host = `${host.gateway}:${relay.port}`;
    const process = spawnRole({
      name: `web-${workerId}-${instanceId}`,
      role: 'web',
      logDir,
      netns: host.netns,
      env: { ...env, DATABASE_URL: dbUrl.toString(), EMC_HOST: privateIp, EMC_WORKER_ID: workerId, EMC_INSTANCE_ID: instanceId },
    });
    return {
      process,
      async shutdown() {
        await process.stop(10_000);
        await relay.close();
        host.destroy();
      },
    };
  } catch (err) {
    host.destroy();
    throw err;
  }
}
