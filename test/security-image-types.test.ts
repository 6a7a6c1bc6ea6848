// Images are never served as a document: a polyglot (image magic bytes followed by HTML or
// SVG with script) is either refused or served as the image type its bytes name, unsniffable
// and under a CSP that allows nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp } from './helpers/app.js';
import { images, notImages } from './helpers/fixtures.js';
import { multipart } from './helpers/multipart.js';

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp'];
const script = '<script>alert(document.cookie)</script>';
const svg = `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">${script}</svg>`;
const html = `<!doctype html><html><body>${script}</body></html>`;
const bytes = (...parts: Array<string | Buffer | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.isBuffer(p) ? p : Buffer.from(p))));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const polyglots: Record<string, Buffer> = {
  'GIF header + script': bytes('GIF89a/*', [1, 0, 1, 0, 0x80, 0, 0], '*/=1;alert(1)//', script),
  'GIF image + trailing HTML': bytes(images.gif, html),
  'PNG signature + HTML document': bytes(PNG_SIGNATURE, html),
  'PNG image + trailing SVG': bytes(images.png, svg),
  'JPEG marker + HTML': bytes([0xff, 0xd8, 0xff, 0xe0], html),
  'BMP magic + SVG': bytes('BM', svg),
  'HTML + GIF': bytes(html, 'GIF89a'),
  'SVG with XML prolog': bytes('<?xml version="1.0" encoding="UTF-8"?>', svg),
  'bare SVG': notImages.svg,
  'bare HTML': notImages.html,
  'UTF-8 BOM + HTML': bytes([0xef, 0xbb, 0xbf], html),
};
// What a browser or an attacker's client might claim about the file; the server must not care.
const claims = [
  { filename: 'x.svg', type: 'image/svg+xml' },
  { filename: 'x.html', type: 'text/html' },
];

function assertServedAsImage(res: LightMyRequestResponse, what: string): void {
  assert.equal(res.statusCode, 200, what);
  const type = String(res.headers['content-type']);
  assert.ok(IMAGE_TYPES.includes(type), `${what}: served as ${type}`);
  assert.doesNotMatch(type, /html|svg|xml|text/, what);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox", what);
  assert.equal(res.headers['content-disposition'], undefined, what);
}

test('polyglots through the API and the upload page: refused, or served only as the image type of their bytes', async (t) => {
  const { app } = await buildTestApp(t);
  let accepted = 0;
  let refused = 0;
  for (const [name, data] of Object.entries(polyglots)) {
    for (const [i, claim] of claims.entries()) {
      for (const route of ['/api/upload', '/upload']) {
        const key = `${name} ${i} ${route}`;
        const form = multipart([
          { name: 'key', value: key },
          { name: 'file', filename: claim.filename, data, type: claim.type },
        ]);
        const upload = await app.inject({ method: 'POST', url: route, ...form, headers: { ...form.headers, accept: 'text/html' } });
        const what = `${name} as ${claim.type} via ${route}`;
        if (upload.statusCode === 415) {
          refused += 1;
          assert.equal((await app.inject({ url: `/image/${encodeURIComponent(key)}` })).statusCode, 404, what);
          continue;
        }
        assert.equal(upload.statusCode, 200, `${what}: ${upload.body.slice(0, 200)}`);
        accepted += 1;
        // First look-up fills the cache, the second is served from it: both the same way.
        for (const round of ['miss', 'hit']) {
          const res = await app.inject({ url: `/image/${encodeURIComponent(key)}`, headers: { accept: 'text/html,*/*' } });
          assertServedAsImage(res, `${what} (${round})`);
          assert.deepEqual(res.rawPayload, data, what);
        }
        const api = await app.inject({ method: 'POST', url: `/api/key/${encodeURIComponent(key)}` });
        assert.match(String(api.headers['content-type']), /^application\/json/, what);
        assert.equal((api.json() as { content: string }).content, data.toString('base64'));
        const page = await app.inject({ url: `/lookup?key=${encodeURIComponent(key)}`, headers: { accept: 'text/html' } });
        assert.ok(!page.body.includes('alert('), `${what}: the look-up page never inlines the bytes`);
      }
    }
  }
  assert.ok(accepted > 0 && refused > 0, `some polyglots pass as images (${accepted}), the rest are refused (${refused})`);
  for (const name of ['SVG with XML prolog', 'bare SVG', 'bare HTML', 'HTML + GIF', 'UTF-8 BOM + HTML', 'PNG signature + HTML document']) {
    assert.equal((await app.inject({ url: `/image/${encodeURIComponent(`${name} 0 /api/upload`)}` })).statusCode, 404, `${name} was refused`);
  }
});

test('a row whose stored type is not an image type (written by hand, or by an older version) is served as opaque bytes', async (t) => {
  const { app } = await buildTestApp(t);
  const form = multipart([
    { name: 'key', value: 'tampered' },
    { name: 'file', filename: 'x.gif', data: bytes(images.gif, svg) },
  ]);
  assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...form })).statusCode, 200);
  for (const type of ['image/svg+xml', 'text/html; charset=utf-8']) {
    await app.services.db.image.update({ where: { key: 'tampered' }, data: { contentType: type } });
    await app.services.pool.invalidate('tampered');
    for (const round of ['miss', 'hit']) {
      const res = await app.inject({ url: '/image/tampered' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/octet-stream', `${type} (${round})`);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox");
    }
  }
});
