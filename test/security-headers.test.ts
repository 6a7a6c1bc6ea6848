import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fastifyHelmet from '@fastify/helmet';
import Fastify, { type LightMyRequestResponse } from 'fastify';
import { storedBytesHeaders } from '../src/http/security-headers.js';
import { buildTestApp } from './helpers/app.js';
import { consoleEnv, loggedIn } from './helpers/console.js';
import { images } from './helpers/fixtures.js';
import { uploadForm } from './helpers/multipart.js';

/** Every header helmet can set. */
const HELMET_HEADERS = [
  'content-security-policy',
  'cross-origin-embedder-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];
const securityHeadersOf = (res: LightMyRequestResponse) =>
  Object.fromEntries(HELMET_HEADERS.filter((h) => res.headers[h] !== undefined).map((h) => [h, String(res.headers[h])]));

function directives(res: LightMyRequestResponse): Map<string, string[]> {
  const csp = res.headers['content-security-policy'];
  assert.equal(typeof csp, 'string', `${res.raw.req.url} has a CSP`);
  return new Map(
    (csp as string).split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }),
  );
}

/** Helmet's page headers and a strict CSP: scripts from our origin only, nothing inline, no framing. */
function assertPageHeaders(res: LightMyRequestResponse, what: string): void {
  const csp = directives(res);
  assert.deepEqual(csp.get('script-src'), ["'self'"], `${what}: scripts only from our origin`);
  assert.deepEqual(csp.get('script-src-attr'), ["'none'"], `${what}: no inline event handlers`);
  assert.deepEqual(csp.get('style-src'), ["'self'"], `${what}: no inline styles`);
  assert.deepEqual(csp.get('default-src'), ["'self'"], what);
  assert.deepEqual(csp.get('object-src'), ["'none'"], what);
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], what);
  assert.deepEqual(csp.get('form-action'), ["'self'"], what);
  assert.ok(!csp.has('upgrade-insecure-requests'), `${what}: plain-HTTP deployments keep their sub-resources`);
  for (const directive of csp.values()) assert.ok(!directive.includes("'unsafe-inline'") && !directive.includes("'unsafe-eval'"), what);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(res.headers['x-frame-options'], 'DENY', what);
  assert.equal(res.headers['referrer-policy'], 'no-referrer', what);
  assert.equal(res.headers['cross-origin-resource-policy'], 'same-origin', what);
  assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin', what);
  assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/, what);
}

function assertStoredBytesHeaders(res: LightMyRequestResponse, what: string): void {
  assert.deepEqual(securityHeadersOf(res), { ...storedBytesHeaders }, what);
}

test('web listener: pages, the API, static files, errors and unknown paths carry helmet headers and the strict CSP', async (t) => {
  const { app } = await buildTestApp(t);
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('k1', images.png) });
  const html = { accept: 'text/html' };
  const answers: Array<[string, LightMyRequestResponse]> = [
    ['home', await app.inject({ url: '/', headers: html })],
    ['upload page', await app.inject({ url: '/upload', headers: html })],
    ['look-up page', await app.inject({ url: '/lookup?key=k1', headers: html })],
    ['keys page', await app.inject({ url: '/keys', headers: html })],
    ['stylesheet', await app.inject({ url: '/static/css/site.css' })],
    ['health', await app.inject({ url: '/health' })],
    ['API list_keys', await app.inject({ method: 'POST', url: '/api/list_keys' })],
    ['API key', await app.inject({ method: 'POST', url: '/api/key/k1' })],
    ['API error', await app.inject({ method: 'POST', url: '/api/key/nope' })],
    ['API 405', await app.inject({ method: 'GET', url: '/api/list_keys' })],
    ['unknown page', await app.inject({ url: '/nowhere', headers: html })],
    ['missing image', await app.inject({ url: '/image/nope', headers: html })],
  ];
  for (const [what, res] of answers) assertPageHeaders(res, `${what} (${res.statusCode})`);
  assert.equal(answers.find(([w]) => w === 'missing image')![1].statusCode, 404);
});

test('GET /image/<key> keeps its own sandboxed CSP, nosniff and the stored type, on a miss, a hit and a 304', async (t) => {
  const { app } = await buildTestApp(t);
  await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('pic', images.gif) });
  const first = await app.inject({ url: '/image/pic' });
  const second = await app.inject({ url: '/image/pic' });
  const revalidated = await app.inject({ url: '/image/pic', headers: { 'if-none-match': String(first.headers.etag) } });
  for (const [what, res, status] of [['first', first, 200], ['cached', second, 200], ['304', revalidated, 304]] as const) {
    assert.equal(res.statusCode, status, what);
    assert.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox", what);
    assertStoredBytesHeaders(res, what);
  }
  assert.equal(first.headers['content-type'], 'image/gif');
  assert.deepEqual(second.rawPayload, images.gif);
});

test('manager listener: the console pages and its JSON API both carry the headers', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const client = await loggedIn(app);
  const answers: Array<[string, LightMyRequestResponse]> = [
    ['login page', await app.inject({ url: '/login', headers: { accept: 'text/html' } })],
    ['redirect to login', await app.inject({ url: '/dashboard', headers: { accept: 'text/html' } })],
    ['dashboard', await client.get('/dashboard')],
    ['pool', await client.get('/pool')],
    ['chart.js', await app.inject({ url: '/vendor/chartjs/chart.umd.js' })],
    ['health', await app.inject({ url: '/health' })],
    ['API getNumNodes', await app.inject({ method: 'POST', url: '/api/getNumNodes' })],
    ['API configure_cache', await app.inject({ method: 'POST', url: '/api/configure_cache?cacheSize=2' })],
    ['API 404', await app.inject({ method: 'POST', url: '/api/nothing' })],
  ];
  for (const [what, res] of answers) assertPageHeaders(res, `${what} (${res.statusCode})`);
  const helmets = answers.map(([, res]) => res.headers['content-security-policy']);
  assert.equal(new Set(helmets).size, 1, 'one policy for the whole listener, registered once');
});

test('cache listener: every answer carries the stored-bytes headers, hot path included, and they are what helmet would set', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'cache' });
  const put = await app.inject({
    method: 'PUT',
    url: '/cache/k',
    headers: { 'content-type': 'application/octet-stream', 'x-emc-content-type': 'image/png', 'x-emc-etag': '"e"' },
    payload: images.png,
  });
  assert.equal(put.statusCode, 200);
  const answers: Array<[string, LightMyRequestResponse]> = [
    ['put', put],
    ['hit', await app.inject({ url: '/cache/k' })],
    ['miss', await app.inject({ url: '/cache/nope' })],
    ['peek', await app.inject({ url: '/peek/k' })],
    ['stats', await app.inject({ url: '/stats' })],
    ['health', await app.inject({ url: '/health' })],
    ['bad config', await app.inject({ method: 'PUT', url: '/config', payload: { capacityMb: -1, policy: 'LRU' } })],
    ['unknown', await app.inject({ url: '/nowhere' })],
  ];
  for (const [what, res] of answers) assertStoredBytesHeaders(res, `${what} (${res.statusCode})`);
  assert.equal(answers[1]![1].headers['content-type'], 'image/png');

  // The fixed set is helmet's own answer for that configuration, header for header.
  const reference = Fastify();
  await reference.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], sandbox: [] } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: false,
    crossOriginEmbedderPolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    strictTransportSecurity: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  reference.get('/', async () => 'x');
  t.after(() => reference.close());
  // (Helmet joins directives with ";" alone; the image route has always sent "; ".)
  const normalized = (headers: Record<string, string>) => ({
    ...headers,
    'content-security-policy': headers['content-security-policy']!.split(';').map((d) => d.trim()).join('; '),
  });
  assert.deepEqual(normalized(securityHeadersOf(await reference.inject('/'))), { ...storedBytesHeaders });
});

test('the templates and the rendered pages hold no inline script, event handler, javascript: URL or inline style', async (t) => {
  const viewsDir = join(import.meta.dirname, '..', 'views');
  const files = (await readdir(viewsDir, { recursive: true })).filter((f) => f.endsWith('.hbs'));
  assert.ok(files.length >= 10);
  const inline = [/<script(?![^>]*\bsrc=)[^>]*>/i, /\son[a-z]+\s*=/i, /javascript:/i, /\sstyle\s*=/i, /<style[\s>]/i];
  for (const file of files) {
    const text = await readFile(join(viewsDir, file), 'utf8');
    for (const pattern of inline) assert.doesNotMatch(text, pattern, `${file} ${pattern}`);
  }

  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const client = await loggedIn(app);
  for (const page of ['/dashboard', '/cache', '/pool', '/danger']) {
    const body = (await client.get(page)).body;
    for (const pattern of inline) assert.doesNotMatch(body, pattern, `${page} ${pattern}`);
    for (const [, src] of body.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)) assert.match(src!, /^\/(?!\/)/, `${page}: ${src} is same-origin`);
  }
});
