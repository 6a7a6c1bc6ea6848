import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { emcEntryPoint } from '../roles/cache/cache-node-launch.js';
import type { FromWorker, ToWorker } from '../roles/web/cluster-worker.js';
import { describeExit, waitForHealthy, type ChildExit } from './child-process.js';
import type { ProvidedMember } from './member-provider.js';
import type { WorkerProvider } from './worker-provider.js';

export type ClusterWorkerOptions = {
  /** Where the workers listen (the web port, shared through the cluster primary). */
  host: string;
  port: number;
  /** How long a stopping worker may take to finish its in-flight requests before it is killed. */
  drainTimeoutMs: number;
  startTimeoutMs?: number;
  /** How long a worker may take to answer a health check. */
  healthTimeoutMs?: number;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
};

type Entry = { provided: ProvidedMember; worker: Worker; exited: Promise<ChildExit>; ready: boolean; stopping: boolean };

/** After the drain deadline, the worker's own shutdown gets this long before it is killed. */
const STOP_GRACE_MS = 5000;

/**
 * The local web pool: workers `cluster.fork`ed from this process (the leader manager), each
 * `emc start --role web`, all listening on the web port, which Node's cluster primary shares
 * among them round-robin. A worker's address is that shared port; it is told apart by its pid
 * (instanceId) and checked over the cluster's IPC channel. When this process exits, its
 * workers exit too (their IPC channel closes).
 */
export function createClusterWorkerProvider({ host, port, drainTimeoutMs, startTimeoutMs = 30_000, healthTimeoutMs = 2000, log }: ClusterWorkerOptions): WorkerProvider {
  if (!cluster.isPrimary) throw new Error('a cluster web pool is run by the cluster primary, not by one of its workers');
  // The workers run the product's entry point as role web, whatever this process was started with.
  cluster.setupPrimary({ exec: emcEntryPoint(), args: ['start', '--role', 'web'], execArgv: [] });
  const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const address = `http://${reachableHost}:${port}`;
  const entries = new Map<string, Entry>();
  let seq = 0;
  let closed = false;

  function fork(id: string): Entry {
    const worker = cluster.fork({ EMC_ROLE: 'web', EMC_WORKER_ID: id });
    const exited = new Promise<ChildExit>((resolve) => {
      worker.once('exit', (code, signal) => resolve({ code, signal: signal as NodeJS.Signals | null }));
      worker.once('error', (error) => {
        if (worker.process.pid === undefined) resolve({ code: null, signal: null, error });
      });
    });
    const entry: Entry = { provided: { id, instanceId: `pid:${worker.process.pid}`, address }, worker, exited, ready: false, stopping: false };
    entries.set(id, entry);
    void exited.then((exit) => {
      if (entries.get(id) === entry) entries.delete(id);
      if (entry.ready && !entry.stopping) log.error({ workerId: id, pid: worker.process.pid, ...exit }, `web worker ${id} ${describeExit(exit)} unexpectedly`);
    });
    return entry;
  }

  async function start(id: string): Promise<ProvidedMember> {
    if (closed) throw new Error(`web worker ${id} not started: the cluster provider is closed`);
    const running = entries.get(id);
    if (running?.ready && !running.stopping) return { ...running.provided };
    const entry = fork(id);
    const deadline = Date.now() + startTimeoutMs;
    try {
      const listening = once(entry.worker, 'listening');
      const early = entry.exited.then((exit) => Promise.reject(new Error(`${describeExit(exit)} before it listened on ${address}`)));
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`did not listen on ${address} within ${startTimeoutMs} ms`)), startTimeoutMs).unref());
      await Promise.race([listening, early, late]);
      await waitForHealthy(`${address}/health`, entry.exited, Math.max(1, deadline - Date.now()));
      if (!(await health(entry.provided))) throw new Error('its own /health did not answer');
    } catch (err) {
      entry.stopping = true;
      entry.worker.process.kill('SIGKILL');
      await entry.exited;
      throw new Error(`web worker ${id} (pid ${entry.worker.process.pid}) failed to start: ${(err as Error).message}`, { cause: err });
    }
    entry.ready = true;
    log.info({ workerId: id, pid: entry.worker.process.pid, address }, 'web worker started');
    return { ...entry.provided };
  }

  /** Drains the worker (it stops taking connections, answers what it has, then exits); killed if it overruns. */
  async function stop(id: string): Promise<void> {
    const entry = entries.get(id);
    if (!entry) return;
    entry.stopping = true;
    if (entry.worker.isConnected()) entry.worker.send({ emc: 'drain' } satisfies ToWorker);
    else entry.worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      log.warn({ workerId: id, drainTimeoutMs }, 'web worker did not drain in time; killing it');
      entry.worker.process.kill('SIGKILL');
    }, drainTimeoutMs + STOP_GRACE_MS);
    try {
      await entry.exited;
    } finally {
      clearTimeout(timer);
    }
    log.info({ workerId: id, pid: entry.worker.process.pid }, 'web worker stopped');
  }

  /** The worker's own /health, asked over its IPC channel: a GET on the shared port could be answered by any worker. */
  async function health(member: ProvidedMember): Promise<boolean> {
    const entry = entries.get(member.id);
    if (!entry || entry.provided.instanceId !== member.instanceId || !entry.worker.isConnected()) return false;
    const asked = ++seq;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        entry.worker.off('message', onMessage);
        resolve(ok);
      };
      const onMessage = (m: FromWorker) => {
        if (m?.emc === 'health' && m.seq === asked) done(m.ok);
      };
      const timer = setTimeout(() => done(false), healthTimeoutMs);
      entry.worker.on('message', onMessage);
      entry.worker.send({ emc: 'health', seq: asked } satisfies ToWorker, (err) => err && done(false));
    });
  }

  return {
    kind: 'cluster',
    list: async () => [...entries.values()].filter((e) => e.ready && !e.stopping).map((e) => ({ ...e.provided })),
    start,
    stop,
    health,
    async close() {
      closed = true;
      await Promise.all([...entries.keys()].map(stop));
    },
  };
}
