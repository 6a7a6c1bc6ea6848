import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import Fastify from 'fastify';
import type { WorkerStats } from '../src/metrics/metrics-sink.js';
import { registerWorkerStats } from '../src/metrics/worker-stats.js';
import { createDb } from '../src/db/database.js';
import { buildTestApp } from './helpers/app.js';

const T0 = new Date('2026-01-01T12:00:00.000Z');

/** A web app with the worker stats on a real port (bytes are what the sockets carried: the network is the point). */
async function serve(t: TestContext, { instanceId }: { instanceId?: string } = {}) {
  const app = Fastify();
  const published: WorkerStats[] = [];
  const state = { failing: false, clock: T0, cpuMicros: 0, warnings: 0 };
  const stats = registerWorkerStats(app, {
    workerId: 'worker-3',
    instanceId,
    sink: {
      async publishWorkers(samples) {
        if (state.failing) throw new Error('database down');
        published.push(...samples);
      },
    },
    intervalMs: 60_000,
    now: () => state.clock,
    // Half user, half system time, as process.cpuUsage reports them (microseconds).
    cpuUsage: () => ({ user: state.cpuMicros / 2, system: state.cpuMicros / 2 }),
    log: { warn: () => void (state.warnings += 1) },
  });
  app.get('/hello', async () => 'hello, world');
  app.post('/echo', async (request) => request.body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const { port } = app.server.address() as AddressInfo;
  return { app, stats, published, state, port };
}

/** A raw keep-alive client: what it wrote and read are exactly the bytes the server's socket saw. */
async function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const counted = { sent: 0, received: 0 };
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    counted.received += chunk.length;
    buffered += chunk.toString('latin1');
  });
  return {
    counted,
    /** Sends one request and waits for its whole response (a fixed-length body). */
    async request(text: string): Promise<string> {
      counted.sent += Buffer.byteLength(text);
      buffered = '';
      socket.write(text);
      for (;;) {
        const head = buffered.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(buffered)?.[1];
        if (head >= 0 && length !== undefined && buffered.length >= head + 4 + Number(length)) return buffered;
        await once(socket, 'data');
      }
    },
    async close() {
      socket.end();
      await once(socket, 'close');
    },
  };
}

const tick = (state: { clock: Date }, ms: number) => (state.clock = new Date(state.clock.getTime() + ms));

describe('worker stats', () => {
  it('publishes requests, the bytes the sockets carried and CPU over wall time, interval by interval', async (t) => {
    const { stats, published, state, port } = await serve(t);
    const http = await client(port);
    assert.match(await http.request('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n'), /hello, world$/);
    const body = JSON.stringify({ image: 'x'.repeat(5000) });
    await http.request(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    tick(state, 5000);
    state.cpuMicros = 1_500_000;
    await stats.publishNow();
    assert.deepEqual(published, [{ workerId: 'worker-3', at: state.clock, cpu: 0.3, requests: 2, bytesIn: http.counted.sent, bytesOut: http.counted.received }]);
    assert.ok(http.counted.received > 5000);

    // The same keep-alive socket, then closed before the publish: only the new bytes count.
    const before = { ...http.counted };
    await http.request('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n');
    await http.close();
    tick(state, 10_000);
    state.cpuMicros = 2_500_000;
    await stats.publishNow();
    assert.deepEqual(published[1], {
      workerId: 'worker-3',
      at: state.clock,
      cpu: 0.1,
      requests: 1,
      bytesIn: http.counted.sent - before.sent,
      bytesOut: http.counted.received - before.received,
    });

    tick(state, 5000);
    await stats.publishNow();
    assert.deepEqual(published[2], { workerId: 'worker-3', at: state.clock, cpu: 0, requests: 0, bytesIn: 0, bytesOut: 0 }, 'an idle worker reports zeros');
  });

  it('loses nothing to a failed publish: the next sample covers both intervals', async (t) => {
    const { stats, published, state, port } = await serve(t);
    const http = await client(port);
    await http.request('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n');
    state.failing = true;
    tick(state, 5000);
    state.cpuMicros = 4_000_000;
    await stats.publishNow();
    assert.deepEqual([published.length, state.warnings], [0, 1]);

    await http.request('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n');
    state.failing = false;
    tick(state, 5000);
    await stats.publishNow();
    assert.deepEqual(published.map((s) => [s.requests, s.cpu, s.bytesIn]), [[2, 0.4, http.counted.sent]]);
    await http.close();
  });

  it('names the instance of a worker on EC2, and publishes the last interval when the app closes', async (t) => {
    const { app, published, state } = await serve(t, { instanceId: 'i-0123456789abcdef0' });
    await app.inject('/hello');
    tick(state, 2000);
    await app.close();
    assert.deepEqual(published.map((s) => [s.instanceId, s.requests]), [['i-0123456789abcdef0', 1]]);
  });
});

describe('worker stats in the web role', () => {
  it('a process started as a web-pool worker publishes its sample to the configured sink; other web processes do not', async (t) => {
    const worker = await buildTestApp(t, { env: { EMC_ROLE: 'web', EMC_PROVIDER: 'process', EMC_WORKER_ID: 'worker-7' } });
    const plain = await buildTestApp(t, { env: { EMC_ROLE: 'web', EMC_PROVIDER: 'process' } });
    await worker.app.ready();
    for (const app of [worker.app, plain.app]) assert.equal((await app.inject('/health')).statusCode, 200);
    await Promise.all([worker.app.close(), plain.app.close()]);

    for (const [{ config }, expected] of [[worker, [{ workerId: 'worker-7', requests: 1 }]], [plain, []]] as const) {
      const db = createDb(config.database);
      t.after(() => db.$disconnect());
      assert.deepEqual(await db.workerSample.findMany({ select: { workerId: true, requests: true } }), expected);
    }
  });
});
