import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { MetricsSink, WorkerStats } from './metrics-sink.js';

export type WorkerStatsDeps = {
  /** This worker's id in the web pool (its provider gives it one). */
  workerId: string;
  /** The EC2 instance this worker runs on, if it has one to itself: EC2 measures its CPU then. */
  instanceId?: string;
  sink: Pick<MetricsSink, 'publishWorkers'>;
  intervalMs: number;
  now?: () => Date;
  /** process.cpuUsage, replaceable in tests. */
  cpuUsage?: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage;
  log: Pick<FastifyBaseLogger, 'warn'>;
};

export interface WorkerStatsPublisher {
  /** Publishes what was counted since the last publish that went through; never rejects, never overlaps. */
  publishNow(): Promise<void>;
}

/**
 * Counts what this web worker serves and publishes it every `intervalMs` as one sample: CPU as
 * this process's CPU time over wall time, requests answered, and bytes in and out as the sockets
 * count them (headers included, what the network carried). The hit path pays one increment per
 * response; bytes are read from the sockets' own counters at publish time, so a request costs
 * nothing for them. A publish that fails is not lost: the next sample covers both intervals.
 * The timer starts when the app is ready; closing the app publishes the last interval.
 */
export function registerWorkerStats(
  app: FastifyInstance,
  { workerId, instanceId, sink, intervalMs, now = () => new Date(), cpuUsage = process.cpuUsage, log }: WorkerStatsDeps,
): WorkerStatsPublisher {
  let requests = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  /** Per open socket: how much of its counters is already in `bytesIn` / `bytesOut`. */
  const sockets = new Map<Socket, { read: number; written: number }>();

  function account(socket: Socket): void {
    const counted = sockets.get(socket);
    if (!counted) return;
    bytesIn += socket.bytesRead - counted.read;
    bytesOut += socket.bytesWritten - counted.written;
    counted.read = socket.bytesRead;
    counted.written = socket.bytesWritten;
  }

  app.server.on('connection', (socket: Socket) => {
    sockets.set(socket, { read: 0, written: 0 });
    socket.once('close', () => {
      account(socket);
      sockets.delete(socket);
    });
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    requests += 1;
    done();
  });

  // What the last publish that went through covered.
  let since = { at: now(), cpu: cpuUsage(), requests: 0, bytesIn: 0, bytesOut: 0 };
  let queue: Promise<void> = Promise.resolve();

  async function publish(): Promise<void> {
    for (const socket of sockets.keys()) account(socket);
    const at = now();
    const cpu = cpuUsage();
    const wallMs = at.getTime() - since.at.getTime();
    const cpuMs = (cpu.user - since.cpu.user + cpu.system - since.cpu.system) / 1000;
    const sample: WorkerStats = {
      workerId,
      at,
      cpu: wallMs > 0 ? cpuMs / wallMs : 0,
      requests: requests - since.requests,
      bytesIn: bytesIn - since.bytesIn,
      bytesOut: bytesOut - since.bytesOut,
      ...(instanceId === undefined ? {} : { instanceId }),
    };
    try {
      await sink.publishWorkers([sample]);
      since = { at, cpu, requests, bytesIn, bytesOut };
    } catch (err) {
      log.warn({ err, workerId }, 'publishing worker stats failed; the next sample covers this interval too');
    }
  }

  function publishNow(): Promise<void> {
    queue = queue.then(publish);
    return queue;
  }

  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => void publishNow(), intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await publishNow();
  });
  return { publishNow };
}
