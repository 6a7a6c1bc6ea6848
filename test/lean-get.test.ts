import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { createHttpCacheNode } from '../src/pool/http-cache-node.js';

/** What a hand-written cache node saw: its connections, and every request head in order. */
interface Seen {
  connections: number;
  open: number;
  maxOpen: number;
  requests: string[];
}

/**
 * A cache node that answers each request with `answer(socket, request, n)` (n counts from 0
 * over all connections), written by hand so it can break the framing.
 */
async function rawServer(t: TestContext, answer: (socket: Socket, request: string, n: number) => void): Promise<{ baseUrl: string; seen: Seen }> {
  const seen: Seen = { connections: 0, open: 0, maxOpen: 0, requests: [] };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    seen.connections++;
    seen.maxOpen = Math.max(seen.maxOpen, ++seen.open);
    socket.on('close', () => {
      sockets.delete(socket);
      seen.open--;
    });
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        seen.requests.push(request);
        answer(socket, request, seen.requests.length - 1);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

const head = (length: number | undefined, extra = '', status = '200 OK') =>
  `HTTP/1.1 ${status}\r\ncontent-type: image/png\r\netag: "e1"\r\n${length === undefined ? '' : `content-length: ${length}\r\n`}${extra}\r\n`;
const bytes = (n: number, fill = 0x41) => Buffer.alloc(n, fill);
const ok = (socket: Socket, body: Buffer, extra = '') => socket.write(Buffer.concat([Buffer.from(head(body.length, extra)), body]));

function nodeFor(t: TestContext, baseUrl: string, options: { timeoutMs?: number; connections?: number; token?: string } = {}) {
  const node = createHttpCacheNode({ id: 'raw', baseUrl, timeoutMs: 2000, ...options });
  t.after(() => node.close());
  return node;
}

describe('the GET hot path over its own sockets: exactly the declared answer, or a CacheNodeError', () => {
  it('a body sent in many uneven pieces, some splitting the head, arrives whole and in order', async (t) => {
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const whole = Buffer.concat([Buffer.from(head(body.length)), body]);
    const { baseUrl } = await rawServer(t, (socket) => {
      let at = 0;
      const next = () => {
        if (at >= whole.length) return;
        const end = Math.min(whole.length, at + 1 + ((at * 7919) % 40_000));
        socket.write(whole.subarray(at, end), () => setImmediate(next));
        at = end;
      };
      next();
    });
    const value = await nodeFor(t, baseUrl).get('k');
    assert.deepEqual(value, { bytes: body, contentType: 'image/png', etag: '"e1"' });
  });

  it('many large answers in flight on several sockets at once each arrive whole, none mixed with another', async (t) => {
    // Each socket reads its body straight into that answer's Buffer, while the heads share one buffer.
    const bodyOf = (key: string) => Buffer.from(Array.from({ length: 200_000 + key.length * 997 }, (_, i) => (i * key.charCodeAt(key.length - 1)) % 253));
    const { baseUrl, seen } = await rawServer(t, (socket, request) => {
      const key = /GET \/cache\/(\S+) /.exec(request)![1]!;
      const whole = Buffer.concat([Buffer.from(head(bodyOf(key).length)), bodyOf(key)]);
      // Two pieces with a pause between them, so answers on different sockets interleave.
      socket.write(whole.subarray(0, 70_000));
      setTimeout(() => socket.write(whole.subarray(70_000)), 5);
    });
    const node = nodeFor(t, baseUrl, { connections: 4 });
    const keys = Array.from({ length: 24 }, (_, i) => `key-${String.fromCharCode(97 + i)}${'x'.repeat(i % 5)}`);
    const values = await Promise.all(keys.map((key) => node.get(key)));
    keys.forEach((key, i) => assert.ok(values[i]!.bytes.equals(bodyOf(key)), `the answer for ${key} is its own, whole`));
    assert.ok(seen.connections <= 4 && seen.maxOpen > 1, `several sockets in use (${seen.connections})`);
  });

  it('kept-alive sockets are reused, and the bearer token and the ETag go out on every GET', async (t) => {
    const { baseUrl, seen } = await rawServer(t, (socket, request) =>
      request.includes('if-none-match: "e1"') ? socket.write('HTTP/1.1 304 Not Modified\r\netag: "e1"\r\n\r\n') : ok(socket, bytes(10)),
    );
    const node = nodeFor(t, baseUrl, { token: 's3cret' });
    const value = await node.get('a/b c');
    assert.equal(await node.get('a/b c', value), value, 'a 304 answers with the copy held');
    assert.deepEqual(await node.peek('k'), value);
    assert.equal(seen.connections, 1);
    assert.match(seen.requests[0]!, /^GET \/cache\/a%2Fb%20c HTTP\/1\.1\r\n/);
    assert.match(seen.requests[2]!, /^GET \/peek\/k HTTP\/1\.1\r\n/);
    for (const request of seen.requests) assert.match(request, /\r\nauthorization: Bearer s3cret(\r\n|$)/);
  });

  it('a miss is a 404 with the miss header; any other 404 or a 500 is a failure naming the node', async (t) => {
    const { baseUrl } = await rawServer(t, (socket, _request, n) => {
      const error = Buffer.from('{"error":{"message":"disk on fire"}}');
      if (n === 0) socket.write('HTTP/1.1 404 Not Found\r\nx-emc-cache: miss\r\ncontent-length: 0\r\n\r\n');
      else if (n === 1) socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      else socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 500 Internal Server Error\r\ncontent-length: ${error.length}\r\n\r\n`), error]));
    });
    const node = nodeFor(t, baseUrl);
    assert.equal(await node.get('k'), undefined);
    await assert.rejects(node.get('k'), { name: 'CacheNodeError', message: /HTTP 404/ });
    await assert.rejects(node.get('k'), { name: 'CacheNodeError', message: /cache node raw .*HTTP 500: disk on fire/ });
  });

  it('a body shorter than its Content-Length (the connection ends) fails, and the next GET succeeds', async (t) => {
    const { baseUrl } = await rawServer(t, (socket, _request, n) => (n === 0 ? socket.end(Buffer.concat([Buffer.from(head(1000)), bytes(400)])) : ok(socket, bytes(1000))));
    const node = nodeFor(t, baseUrl);
    await assert.rejects(node.get('k'), { name: 'CacheNodeError' });
    assert.equal((await node.get('k'))?.bytes.length, 1000);
  });

  it('a body cut off mid-way (the connection is reset) fails', async (t) => {
    const { baseUrl } = await rawServer(t, (socket) => socket.write(Buffer.concat([Buffer.from(head(100_000)), bytes(30_000)]), () => socket.resetAndDestroy()));
    await assert.rejects(nodeFor(t, baseUrl).get('k'), { name: 'CacheNodeError' });
  });

  it('a body that stops arriving fails at the deadline, and its socket is not reused', async (t) => {
    const { baseUrl, seen } = await rawServer(t, (socket, _request, n) => (n === 0 ? socket.write(Buffer.concat([Buffer.from(head(1000)), bytes(10)])) : ok(socket, bytes(5))));
    const node = nodeFor(t, baseUrl, { timeoutMs: 200 });
    const started = Date.now();
    await assert.rejects(node.get('k'), { name: 'CacheNodeError', message: /timed out after 200 ms/ });
    assert.ok(Date.now() - started < 1500);
    assert.equal((await node.get('k'))?.bytes.length, 5);
    assert.equal(seen.connections, 2);
  });

  it('bytes beyond the Content-Length never become part of the value, and that socket is dropped', async (t) => {
    const { baseUrl, seen } = await rawServer(t, (socket, _request, n) => (n === 0 ? socket.write(Buffer.concat([Buffer.from(head(100)), bytes(100), bytes(500, 0x42)])) : ok(socket, bytes(7))));
    const node = nodeFor(t, baseUrl);
    assert.deepEqual((await node.get('k'))?.bytes, bytes(100));
    assert.deepEqual((await node.get('k'))?.bytes, bytes(7));
    assert.equal(seen.connections, 2);
  });

  it('an answer not framed by Content-Length (chunked) or not HTTP fails', async (t) => {
    const chunked = await rawServer(t, (socket) => socket.write(`${head(undefined, 'transfer-encoding: chunked\r\n')}5\r\nhello\r\n0\r\n\r\n`));
    await assert.rejects(nodeFor(t, chunked.baseUrl).get('k'), { name: 'CacheNodeError', message: /Transfer-Encoding/ });
    const garbage = await rawServer(t, (socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    await assert.rejects(nodeFor(t, garbage.baseUrl).get('k'), { name: 'CacheNodeError', message: /status line/ });
  });

  it('"connection: close" is honoured: the next GET goes out on a new socket', async (t) => {
    const { baseUrl, seen } = await rawServer(t, (socket) => {
      ok(socket, bytes(3), 'connection: close\r\n');
      socket.end();
    });
    const node = nodeFor(t, baseUrl);
    for (let i = 0; i < 3; i++) assert.equal((await node.get('k'))?.bytes.length, 3);
    assert.equal(seen.connections, 3);
  });

  it('a node closing kept-alive sockets (idle, or just as a GET goes out) costs no failed GET', async (t) => {
    // It claims keep-alive but closes each socket right after its answer.
    const { baseUrl, seen } = await rawServer(t, (socket) => {
      ok(socket, bytes(3));
      socket.end();
    });
    const node = nodeFor(t, baseUrl);
    assert.equal((await node.get('k'))?.bytes.length, 3);
    await sleep(50); // the close has arrived: the idle socket is gone
    assert.equal((await node.get('k'))?.bytes.length, 3);
    // Back to back: the close may still be on its way when the next GET is written.
    for (let i = 0; i < 20; i++) assert.equal((await node.get('k'))?.bytes.length, 3);
    assert.equal(seen.requests.length >= 22, true);
  });

  it('no more sockets than `connections`, however many GETs are in flight', async (t) => {
    const { baseUrl, seen } = await rawServer(t, (socket) => setTimeout(() => ok(socket, bytes(1000)), 5));
    const node = nodeFor(t, baseUrl, { connections: 2 });
    const values = await Promise.all(Array.from({ length: 20 }, () => node.get('k')));
    assert.ok(values.every((value) => value?.bytes.length === 1000));
    assert.equal(seen.maxOpen, 2);
    assert.equal(seen.requests.length, 20);
  });

  it('a node that refuses connections fails the GET with the reason', async (t) => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const free = (closed.address() as { port: number }).port;
    closed.close();
    await once(closed, 'close');
    await assert.rejects(nodeFor(t, `http://127.0.0.1:${free}`).get('k'), { name: 'CacheNodeError', message: /ECONNREFUSED/ });
  });
});
