import { spawn, type ChildProcess } from 'node:child_process';
import type { FastifyBaseLogger } from 'fastify';
import { httpNodeConnector } from './http-node-clients.js';
import { CACHE_NODE_ENV, cacheNodeArgs, OUTLIVE_MESSAGE } from '../roles/cache/cache-node-launch.js';
import { describeExit, exitOf, freePort, isRunning, pidExit, terminate, waitForHealthy, type ChildExit } from './child-process.js';
import type { NodeProvider, ProvidedNode } from './node-provider.js';

export type ProcessProviderOptions = {
  /** The children's configuration (database, data dir, log level...); port, node id and host are set per child. */
  childEnv: Record<string, string>;
  /** Where the children listen. */
  host?: string;
  healthTimeoutMs?: number;
  /** How long a child may take to shut down after SIGTERM before it is SIGKILLed. */
  stopTimeoutMs?: number;
  /** Deadline of one call made by the clients `connect` returns. */
  timeoutMs?: number;
  /** EMC_CACHE_TOKEN, sent by the clients `connect` returns (the children get it through `childEnv`). */
  token?: string | undefined;
  /**
   * The children outlive this process (role manager): started in their own session, let go
   * once the database records them (`recorded`: the next leader adopts them from the pid and
   * address it finds there), released rather than stopped by `close`. Until then a child is
   * tied to this process like any other, so a manager killed while starting a node leaves no
   * process that no row records. Otherwise (role all, the product on a laptop) each child is
   * tied to this process and stopped with it.
   */
  survive?: boolean;
  log: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
};

type Child = {
  provided: ProvidedNode;
  pid: number | undefined;
  /** Absent for an adopted node: another process started it. */
  process: ChildProcess | undefined;
  exited: Promise<ChildExit>;
  ready: boolean;
  stopping: boolean;
  /** Told to outlive this process (its row is recorded) and no longer tied to it. */
  outlives: boolean;
  stderr: () => string;
};

// Enough to carry a config error or a stack trace into the start error and the crash log.
const STDERR_TAIL_CHARS = 4000;
const START_ATTEMPTS = 3;

/**
 * Cache nodes as child processes (`emc start --role cache`) on ports of this machine.
 * Every child starts tied to this process by an IPC channel: when this process dies, even by
 * SIGKILL, the channel closes and the child shuts itself down. A surviving child (see
 * `survive`) is sent `OUTLIVE_MESSAGE` and let go once its row is recorded, and runs on.
 */
export function createProcessProvider({
  childEnv,
  host = '127.0.0.1',
  healthTimeoutMs = 20_000,
  stopTimeoutMs = 5000,
  timeoutMs,
  token,
  survive = false,
  log,
}: ProcessProviderOptions): NodeProvider {
  const children = new Map<string, Child>();
  const starting = new Map<string, Promise<ProvidedNode>>();
  const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closed = false;

  function spawnChild(id: string, port: number): Child {
    const proc = spawn(process.execPath, cacheNodeArgs(), {
      env: { ...CACHE_NODE_ENV, ...childEnv, EMC_CACHE_PORT: String(port), EMC_NODE_ID: id, EMC_HOST: host },
      // stdout (the child's structured log) joins ours; stderr only carries failures, kept for the messages.
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      detached: survive,
    });
    let tail = '';
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (tail = (tail + chunk).slice(-STDERR_TAIL_CHARS)));
    const provided = { id, instanceId: `pid:${proc.pid}`, address: `http://${reachableHost}:${port}` };
    const child: Child = { provided, pid: proc.pid, process: proc, exited: exitOf(proc), ready: false, stopping: false, outlives: false, stderr: () => tail.trim() };
    children.set(id, child);
    void child.exited.then((exit) => {
      if (children.get(id) === child) children.delete(id);
      if (child.ready && !child.stopping) {
        log.error({ nodeId: id, pid: proc.pid, ...exit, stderr: child.stderr() }, `cache node ${id} ${describeExit(exit)} unexpectedly`);
      }
    });
    return child;
  }

  async function launch(id: string): Promise<ProvidedNode> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort(host);
      if (closed) throw new Error(`cache node ${id} not started: the process provider is closed`);
      const child = spawnChild(id, port);
      try {
        await waitForHealthy(`${child.provided.address}/health`, child.exited, healthTimeoutMs);
        child.ready = true;
        log.info({ nodeId: id, pid: child.pid, address: child.provided.address }, 'cache node started');
        return { ...child.provided };
      } catch (err) {
        child.stopping = true;
        await terminate(child.pid, child.exited, stopTimeoutMs);
        const stderr = child.stderr();
        // Another process can take the probed port before the child listens on it.
        if (attempt < START_ATTEMPTS && stderr.includes('EADDRINUSE') && !closed) continue;
        const reason = (err as Error).message;
        throw new Error(`cache node ${id} (pid ${child.pid}) failed to start: ${reason}${stderr ? `\n${stderr}` : ''}`);
      }
    }
  }

  async function stop(id: string): Promise<void> {
    const child = children.get(id);
    if (!child) return;
    child.stopping = true;
    await terminate(child.pid, child.exited, stopTimeoutMs);
    log.info({ nodeId: id, pid: child.pid }, 'cache node stopped');
  }

  /** A recorded node another process started, still running: ours to stop from now on. */
  function adoptOne(member: ProvidedNode): void {
    const pid = Number(/^pid:(\d+)$/.exec(member.instanceId ?? '')?.[1]);
    const known = children.get(member.id);
    if (known?.pid === pid || !pid || !isRunning(pid)) return;
    children.set(member.id, { provided: { ...member }, pid, process: undefined, exited: pidExit(pid), ready: true, stopping: false, outlives: true, stderr: () => '' });
    log.info({ nodeId: member.id, pid, address: member.address }, 'cache node adopted');
  }

  /** Unties a recorded child: it is told to outlive this process, then its channel is closed. */
  function untie(child: Child): Promise<void> {
    const proc = child.process;
    child.outlives = true;
    if (!proc?.connected) return Promise.resolve();
    // Disconnecting only once the message is written keeps it ahead of the channel's end.
    return new Promise((resolve) =>
      proc.send(OUTLIVE_MESSAGE, (err) => {
        if (err) log.warn({ err, nodeId: child.provided.id, pid: child.pid }, 'cache node not told to outlive this manager');
        if (proc.connected) proc.disconnect();
        resolve();
      }),
    );
  }

  /** Lets go of the recorded children without stopping them: they serve on for the next leader. */
  function release(): void {
    for (const child of children.values()) {
      child.process?.stderr?.destroy();
      child.process?.unref();
    }
    children.clear();
  }

  return {
    kind: 'process',
    list: async () => [...children.values()].filter((c) => c.ready && !c.stopping).map((c) => ({ ...c.provided })),
    start(id) {
      if (closed) return Promise.reject(new Error(`cache node ${id} not started: the process provider is closed`));
      const running = children.get(id);
      if (running?.ready && !running.stopping) return Promise.resolve({ ...running.provided });
      let pending = starting.get(id);
      if (!pending) {
        pending = launch(id).finally(() => starting.delete(id));
        starting.set(id, pending);
      }
      return pending;
    },
    stop,
    connect: httpNodeConnector({ timeoutMs, token }),
    async adopt(members) {
      for (const member of members) adoptOne(member);
    },
    async recorded(members) {
      if (!survive) return;
      await Promise.all(members.flatMap((m) => {
        const child = children.get(m.id);
        return child && !child.outlives ? [untie(child)] : [];
      }));
    },
    async close() {
      closed = true;
      await Promise.allSettled([...starting.values()]);
      // A child no row records yet would be found by nobody: it stops with this process.
      await Promise.all([...children.values()].filter((c) => !(survive && c.outlives)).map((c) => stop(c.provided.id)));
      if (survive) release();
    },
  };
}
