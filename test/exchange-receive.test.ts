import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { Pool } from 'undici';
import { exchange } from '../src/pool/exchange.js';
import { createHttpCacheNode } from '../src/pool/http-cache-node.js';

/**
 * A cache node that answers every request with `answer(socket)`, written by hand so it can
 * break the framing in ways a real server never would.
 */
async function rawServer(t: TestContext, answer: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => answer(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const head = (length: number | undefined, extra = '') =>
  `HTTP/1.1 200 OK\r\ncontent-type: image/png\r\netag: "e1"\r\n${length === undefined ? '' : `content-length: ${length}\r\n`}${extra}\r\n`;

const bytes = (n: number, fill = 0x41) => Buffer.alloc(n, fill);

async function poolFor(t: TestContext, baseUrl: string): Promise<Pool> {
  const pool = new Pool(baseUrl, { connections: 1 });
  t.after(() => pool.destroy());
  return pool;
}

describe('receiving a cache node answer: the body is exactly what was declared, or an error', () => {
  it('a body sent in many pieces arrives whole, in order', async (t) => {
    const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const baseUrl = await rawServer(t, (socket) => {
      socket.write(head(body.length));
      // Uneven pieces, some split across the socket's reads.
      let at = 0;
      const next = () => {
        if (at >= body.length) return;
        const end = Math.min(body.length, at + 1 + ((at * 7919) % 40_000));
        socket.write(body.subarray(at, end), next);
        at = end;
      };
      next();
    });
    const answer = await exchange(await poolFor(t, baseUrl), { method: 'GET', path: '/cache/k' }, 5000);
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.body, body);
  });

  it('a body shorter than its Content-Length (the connection ends) is an error, not a short image', async (t) => {
    const baseUrl = await rawServer(t, (socket) => socket.end(Buffer.concat([Buffer.from(head(1000)), bytes(400)])));
    await assert.rejects(exchange(await poolFor(t, baseUrl), { method: 'GET', path: '/cache/k' }, 5000));
  });

  it('a body cut off mid-way (the connection is reset) is an error', async (t) => {
    const baseUrl = await rawServer(t, (socket) => {
      socket.write(Buffer.concat([Buffer.from(head(100_000)), bytes(30_000)]), () => socket.resetAndDestroy());
    });
    await assert.rejects(exchange(await poolFor(t, baseUrl), { method: 'GET', path: '/cache/k' }, 5000));
  });

  it('a body that stops arriving fails at the deadline', async (t) => {
    const baseUrl = await rawServer(t, (socket) => socket.write(Buffer.concat([Buffer.from(head(1000)), bytes(10)])));
    const started = Date.now();
    await assert.rejects(exchange(await poolFor(t, baseUrl), { method: 'GET', path: '/cache/k' }, 200), /timed out after 200 ms/);
    assert.ok(Date.now() - started < 2000);
  });

  it('bytes beyond the Content-Length never become part of the image', async (t) => {
    const baseUrl = await rawServer(t, (socket) => socket.end(Buffer.concat([Buffer.from(head(100)), bytes(100), bytes(500, 0x42)])));
    const answer = await exchange(await poolFor(t, baseUrl), { method: 'GET', path: '/cache/k' }, 5000).catch((error: Error) => error);
    // undici stops at the declared length: the answer is the declared bytes, or the exchange fails.
    if (!(answer instanceof Error)) assert.deepEqual(answer.body, bytes(100));
  });

  it('an answer without a Content-Length (chunked) is gathered whole', async (t) => {
    const baseUrl = await rawServer(t, (socket) =>
      socket.end(`${head(undefined, 'transfer-encoding: chunked\r\n')}5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`),
    );
    const answer = await exchange(await poolFor(t, baseUrl), { method: 'GET', path: '/cache/k' }, 5000);
    assert.equal(answer.body.toString(), 'hello world');
  });

  it('through the HTTP cache node: a short body is a failed look-up, never a hit', async (t) => {
    const baseUrl = await rawServer(t, (socket) => socket.end(Buffer.concat([Buffer.from(head(1000)), bytes(400)])));
    const node = createHttpCacheNode({ id: 'liar', baseUrl, timeoutMs: 2000 });
    t.after(() => node.close());
    await assert.rejects(node.get('k'), { name: 'CacheNodeError' });
  });
});
