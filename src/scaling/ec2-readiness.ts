import type { Ec2Pool, PoolInstance } from './ec2-instances.js';
import type { Sleep } from './ec2-retry.js';
import type { HealthCheck } from './http-probe.js';
import type { ProvidedMember } from './member-provider.js';

export type Readiness = {
  pool: Pick<Ec2Pool, 'describe'>;
  address: 'private' | 'public';
  /** The member's port on the instance: a cache node's, or a web worker's. */
  port: number;
  pollMs: number;
  /** What the deadline allowed, for the messages. */
  budgetMs: number;
  sleep: Sleep;
  /** Aborted when the provider closes. */
  signal: AbortSignal;
};

const PROBE_TIMEOUT_MS = 2000;

/** Where an instance's member is reached; undefined while it has no such IP. */
export function originOf(instance: PoolInstance, address: 'private' | 'public', port: number): string | undefined {
  const ip = address === 'private' ? instance.privateIp : instance.publicIp;
  return ip ? `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` : undefined;
}

/** The members a pool's live (pending or running) instances serve, where each is reached. */
export async function liveMembers(pool: Pick<Ec2Pool, 'find'>, address: 'private' | 'public', port: number): Promise<ProvidedMember[]> {
  const instances = await pool.find({ states: ['pending', 'running'], tagged: true });
  return instances.flatMap((i) => {
    const origin = originOf(i, address, port);
    return i.memberId !== undefined && origin ? [{ id: i.memberId, instanceId: i.instanceId, address: origin }] : [];
  });
}

export async function pause(r: Readiness, deadline: number, timeoutMessage: string): Promise<void> {
  if (r.signal.aborted) throw new Error('the ec2 provider closed');
  const left = deadline - Date.now();
  if (left <= 0) throw new Error(timeoutMessage);
  await r.sleep(Math.min(r.pollMs, left), r.signal);
}

/** A start that EC2 had not begun yet stays 'stopped' only for a moment; this many looks in a row is a failed start. */
const STOPPED_LOOKS = 5;

/** Resolves the member's origin once the instance runs with the address it is reached on. */
export async function waitRunning(r: Readiness, instanceId: string, deadline: number): Promise<string> {
  let seenPending = false;
  let stoppedLooks = 0;
  for (;;) {
    const instance = await r.pool.describe(instanceId);
    const state = instance?.state;
    const origin = instance && originOf(instance, r.address, r.port);
    if (state === 'running' && origin) return origin;
    if (state === 'running' && r.address === 'public') throw new Error(`instance ${instanceId} runs without a public IP address`);
    if (state === 'stopping' || state === 'shutting-down' || state === 'terminated') throw new Error(`instance ${instanceId} went ${state}`);
    seenPending ||= state === 'pending';
    stoppedLooks = state === 'stopped' ? stoppedLooks + 1 : 0;
    // EC2 may describe a just-started instance as stopped for a moment, but pending then stopped is a start
    // that failed (no capacity, a KMS key the role cannot use): its state reason says why.
    if (state === 'stopped' && (seenPending || stoppedLooks >= STOPPED_LOOKS)) {
      throw new Error(`instance ${instanceId} did not start: ${instance?.stateReason ?? 'stopped again'}`);
    }
    await pause(r, deadline, `instance ${instanceId} was not running within ${r.budgetMs} ms (last state: ${state ?? 'unknown'})`);
  }
}

/** Resolves the node's origin once the instance runs and its cache node answers GET /health. */
export async function waitUntilServing(r: Readiness & { fetchHealth: HealthCheck }, instanceId: string, deadline: number): Promise<string> {
  const origin = await waitRunning(r, instanceId, deadline);
  const url = `${origin}/health`;
  for (;;) {
    const left = deadline - Date.now();
    if (left > 0 && (await r.fetchHealth(url, Math.min(left, PROBE_TIMEOUT_MS)))) return origin;
    await pause(r, deadline, `${url} did not answer within ${r.budgetMs} ms`);
  }
}
