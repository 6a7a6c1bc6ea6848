import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { test, type TestContext } from 'node:test';
import { readInstanceId, readInstanceMetadata } from '../src/scaling/instance-metadata.js';
import { freePort } from './helpers/process.js';

const TOKEN = 'fake-token-123';

/** IMDSv2 on loopback: a token from PUT, then metadata only for requests that carry it. */
async function fakeImds(t: TestContext, metadata: Record<string, string>) {
  const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers'] }> = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      return void res.end(TOKEN);
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== TOKEN) return void res.writeHead(401).end();
    const value = metadata[req.url?.replace('/latest/meta-data/', '') ?? ''];
    if (req.method !== 'GET' || value === undefined) return void res.writeHead(404).end();
    res.end(value);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

test('the instance id is read with an IMDSv2 session token', async (t) => {
  const imds = await fakeImds(t, { 'instance-id': 'i-0123456789abcdef0', 'tags/instance/emc:node': 'node-4' });
  const plain = await fetch(`${imds.baseUrl}/latest/meta-data/instance-id`, { headers: { connection: 'close' } });
  assert.equal(plain.status, 401, 'the fake, like IMDSv2, refuses a GET without the token');
  await plain.arrayBuffer();

  assert.equal(await readInstanceId({ baseUrl: imds.baseUrl }), 'i-0123456789abcdef0');
  const [put, get] = imds.seen.slice(-2);
  assert.equal(put!.method, 'PUT');
  assert.match(String(put!.headers['x-aws-ec2-metadata-token-ttl-seconds']), /^\d+$/);
  assert.equal(get!.url, '/latest/meta-data/instance-id');
  assert.equal(get!.headers['x-aws-ec2-metadata-token'], TOKEN);
  assert.equal(await readInstanceMetadata('tags/instance/emc:node', { baseUrl: imds.baseUrl }), 'node-4');
  assert.equal(await readInstanceMetadata('tags/instance/missing', { baseUrl: imds.baseUrl }), undefined);
});

test('something that is not an instance id is not taken for one', async (t) => {
  const imds = await fakeImds(t, { 'instance-id': '<html>captive portal</html>' });
  assert.equal(await readInstanceId({ baseUrl: imds.baseUrl }), undefined);
});

test('off EC2 the id is undefined, quickly', async (t) => {
  const closedPort = await freePort();
  let started = Date.now();
  assert.equal(await readInstanceId({ baseUrl: `http://127.0.0.1:${closedPort}`, timeoutMs: 500 }), undefined);
  assert.ok(Date.now() - started < 500, 'a refused connection does not wait for the deadline');

  // A metadata address that swallows requests (a blackholed route) ends at the deadline.
  const silent = createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => {
    silent.closeAllConnections();
    return new Promise((resolve) => silent.close(resolve));
  });
  started = Date.now();
  const port = (silent.address() as { port: number }).port;
  assert.equal(await readInstanceId({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 100 }), undefined);
  assert.ok(Date.now() - started < 1000);
});
