// Red-team issue 13 (6): a client that drips its headers or body, or says nothing, is cut off
// by the listener's timeouts instead of holding a socket for ever; a normal upload still works.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTestApp } from './helpers/app.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

/** Opens a raw connection, runs `drip` until the server closes it, and says after how many ms it closed. */
async function closedAfter(port: number, drip: (socket: Socket) => Promise<void>, limitMs: number): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  socket.on('error', () => {});
  socket.on('data', () => {});
  let open = true;
  void closed.then(() => (open = false));
  const dripping = (async () => {
    while (open && Date.now() - started < limitMs) await drip(socket);
  })();
  const result = await Promise.race([closed, sleep(limitMs).then(() => -1)]);
  socket.destroy();
  await dripping;
  return result;
}

const byteEvery = (ms: number, byte: string) => async (socket: Socket) => {
  if (!socket.destroyed) socket.write(byte);
  await sleep(ms);
};

test('slow headers, a dripping body and a silent connection are closed by the listener timeouts', async (t) => {
  const { app } = await buildTestApp(t, {
    env: { EMC_HEADERS_TIMEOUT_S: '0.8', EMC_REQUEST_TIMEOUT_S: '1.5', EMC_IDLE_TIMEOUT_S: '1' },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };

  // Headers a byte every 200 ms: never idle, but never complete.
  const headers = await closedAfter(port, byteEvery(200, 'x'), 6000);
  assert.ok(headers > 0 && headers < 3000, `slow headers closed after ${headers} ms`);

  // Complete headers, then the body a byte every 300 ms (the red team's drip, faster).
  let sentHeaders = false;
  const body = await closedAfter(
    port,
    async (socket) => {
      if (!sentHeaders) {
        socket.write('POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n');
        sentHeaders = true;
      }
      await byteEvery(300, '-')(socket);
    },
    6000,
  );
  assert.ok(body > 0 && body < 4000, `dripping body closed after ${body} ms`);

  // Nothing at all.
  const silent = await closedAfter(port, () => sleep(100), 6000);
  assert.ok(silent > 0 && silent < 3000, `silent connection closed after ${silent} ms`);

  // An ordinary upload is unaffected.
  const form = uploadForm('ok', images.png);
  const res = await fetch(`http://127.0.0.1:${port}/api/upload`, { method: 'POST', body: new Uint8Array(form.payload), headers: form.headers });
  assert.equal(res.status, 200);
});
