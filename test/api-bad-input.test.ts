import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, databases, objectFiles, type TestApp } from './helpers/app.js';
import { images, notImages } from './helpers/fixtures.js';
import { multipart, uploadForm } from './helpers/multipart.js';

type BadCase = {
  name: string;
  status: number;
  message: RegExp;
  request: (app: FastifyInstance) => Promise<LightMyRequestResponse>;
};

const LIMIT_MB = 1;
const post = (url: string, body?: { payload: Buffer; headers: Record<string, string> }) => (app: FastifyInstance) =>
  app.inject({ method: 'POST', url, ...body });

/** An upload whose key field carries raw bytes that are not UTF-8 (the marker "@@" is replaced by 0xFF 0xFE). */
function invalidUtf8Key() {
  const body = uploadForm('bad@@key', images.png);
  const at = body.payload.indexOf('bad@@key');
  body.payload[at + 3] = 0xff;
  body.payload[at + 4] = 0xfe;
  return body;
}

const cases: BadCase[] = [
  { name: 'missing key', status: 400, message: /key is required/, request: post('/api/upload', multipart([{ name: 'file', filename: 'x.png', data: images.png }])) },
  { name: 'empty key', status: 400, message: /key is required/, request: post('/api/upload', uploadForm('', images.png)) },
  { name: '256-character key', status: 400, message: /256 characters.*limit is 255/, request: post('/api/upload', uploadForm('k'.repeat(256), images.png)) },
  { name: 'key far over the limit', status: 400, message: /longer than 255|limit is 255/, request: post('/api/upload', uploadForm('k'.repeat(10_000), images.png)) },
  { name: 'newline in the key', status: 400, message: /control characters/, request: post('/api/upload', uploadForm('bad\nkey', images.png)) },
  { name: 'NUL in the key', status: 400, message: /control characters/, request: post('/api/upload', uploadForm('bad\u0000key', images.png)) },
  { name: 'DEL in the key', status: 400, message: /control characters/, request: post('/api/upload', uploadForm('bad\u007fkey', images.png)) },
  // Red-team issue 13 (7): invalid UTF-8 became U+FFFD, so different byte strings collided.
  { name: 'invalid UTF-8 in the key', status: 400, message: /valid UTF-8/, request: post('/api/upload', invalidUtf8Key()) },
  { name: 'U+FFFD in the key', status: 400, message: /valid UTF-8/, request: post('/api/upload', uploadForm('bad\ufffdkey', images.png)) },
  { name: 'bidi override in the key', status: 400, message: /invisible formatting/, request: post('/api/upload', uploadForm('cat\u202egnp.jpg', images.png)) },
  { name: 'zero-width joiner between letters in the key', status: 400, message: /invisible formatting/, request: post('/api/upload', uploadForm('ke\u200dep', images.png)) },
  { name: 'zero-width space in the key', status: 400, message: /invisible formatting/, request: post('/api/upload', uploadForm('ke\u200bep', images.png)) },
  { name: 'missing file', status: 400, message: /file is required/, request: post('/api/upload', multipart([{ name: 'key', value: 'keep' }])) },
  { name: 'empty file', status: 400, message: /file is empty/, request: post('/api/upload', uploadForm('keep', Buffer.alloc(0))) },
  { name: 'text file renamed .png', status: 415, message: /not a PNG, JPEG, GIF, WebP or BMP/, request: post('/api/upload', uploadForm('keep', notImages.text, 'cat.png')) },
  { name: 'SVG (scriptable) image', status: 415, message: /not a PNG/, request: post('/api/upload', uploadForm('keep', notImages.svg, 'x.svg')) },
  { name: 'PDF renamed .jpg', status: 415, message: /looks like application\/pdf/, request: post('/api/upload', uploadForm('keep', notImages.pdf, 'x.jpg')) },
  {
    name: 'file over the limit',
    status: 413,
    message: /larger than the upload limit of 1 MB/,
    request: post('/api/upload', uploadForm('keep', Buffer.concat([images.png, Buffer.alloc(LIMIT_MB * 1048576)]))),
  },
  {
    name: 'two files',
    status: 400,
    message: /exactly one file/,
    request: post('/api/upload', multipart([{ name: 'key', value: 'keep' }, { name: 'file', filename: 'a.png', data: images.png }, { name: 'file', filename: 'b.png', data: images.png }])),
  },
  {
    name: 'key sent twice',
    status: 400,
    message: /more than once/,
    request: post('/api/upload', multipart([{ name: 'key', value: 'a' }, { name: 'key', value: 'b' }, { name: 'file', filename: 'a.png', data: images.png }])),
  },
  {
    name: 'file under another field name',
    status: 400,
    message: /unexpected file field "image"/,
    request: post('/api/upload', multipart([{ name: 'key', value: 'keep' }, { name: 'image', filename: 'a.png', data: images.png }])),
  },
  {
    name: 'JSON instead of multipart',
    status: 415,
    message: /multipart\/form-data/,
    request: (app) => app.inject({ method: 'POST', url: '/api/upload', payload: { key: 'keep', file: 'x' } }),
  },
  {
    name: 'truncated multipart body',
    status: 400,
    message: /.+/,
    request: (app) => {
      const body = uploadForm('keep', images.png);
      return app.inject({ method: 'POST', url: '/api/upload', headers: body.headers, payload: body.payload.subarray(0, body.payload.length - 40) });
    },
  },
  { name: 'unknown key on /api/key', status: 404, message: /unknown key "nope"/, request: post('/api/key/nope') },
  { name: 'empty key on /api/key', status: 404, message: /unknown key ""/, request: post('/api/key/') },
  { name: 'GET instead of POST on upload', status: 405, message: /GET is not allowed.*POST/, request: (app) => app.inject({ method: 'GET', url: '/api/upload' }) },
  { name: 'GET instead of POST on key', status: 405, message: /GET is not allowed/, request: (app) => app.inject({ method: 'GET', url: '/api/key/keep' }) },
  { name: 'GET instead of POST on list_keys', status: 405, message: /GET is not allowed/, request: (app) => app.inject({ method: 'GET', url: '/api/list_keys' }) },
  { name: 'DELETE on delete_all', status: 405, message: /DELETE is not allowed/, request: (app) => app.inject({ method: 'DELETE', url: '/api/delete_all' }) },
  { name: 'unknown API path', status: 404, message: /no route POST \/api\/nothing/, request: post('/api/nothing') },
];

async function snapshot({ app, config }: TestApp) {
  const keys = (await app.inject({ method: 'POST', url: '/api/list_keys' })).json().keys;
  const keep = (await app.inject({ method: 'POST', url: '/api/key/keep' })).json().content;
  return { keys, keep, objects: await objectFiles(config) };
}

for (const database of databases) {
  describe(`bad input gets a clear 4xx and changes nothing (${database})`, () => {
    test('every case', async (t) => {
      const testApp = await buildTestApp(t, { database, env: { EMC_UPLOAD_LIMIT_MB: String(LIMIT_MB) } });
      const { app } = testApp;
      assert.equal((await app.inject({ method: 'POST', url: '/api/upload', ...uploadForm('keep', images.jpeg) })).statusCode, 200);
      const before = await snapshot(testApp);
      for (const c of cases) {
        const res = await c.request(app);
        assert.equal(res.statusCode, c.status, `${c.name}: ${res.body}`);
        const body = res.json();
        assert.equal(body.success, 'false', c.name);
        assert.equal(body.error.code, c.status, c.name);
        assert.match(body.error.message, c.message, c.name);
        assert.deepEqual(await snapshot(testApp), before, `${c.name} changed what is stored`);
      }
    });
  });
}
