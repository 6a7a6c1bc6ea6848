// Red-team issue 13 (1): a page on another origin, in a real browser, cannot change anything,
// while a script without browser headers (the course's tester) still can.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test, type TestContext } from 'node:test';
import { images } from '../helpers/fixtures.js';
import { openPage } from './browser.js';
import { startAll } from './server.js';

/** The attacker's site: a page per attack, on `localhost` (another site than 127.0.0.1). */
async function attackerSite(t: TestContext, pages: Record<string, string>): Promise<string> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(pages[req.url ?? ''] ?? 'no such page');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://localhost:${(server.address() as { port: number }).port}`;
}

const autoSubmit = (action: string, enctype: string, fields = '') =>
  `<form method="POST" action="${action}" enctype="${enctype}">${fields}</form><script>document.forms[0].submit()</script>`;

/** A multipart form whose file input is filled by script (DataTransfer), as an attacker would plant an image. */
const plantUpload = (action: string, pngBase64: string) => `
<form method="POST" action="${action}" enctype="multipart/form-data">
  <input name="key" value="planted"><input type="file" name="file">
</form>
<script>
  const bytes = Uint8Array.from(atob('${pngBase64}'), (c) => c.charCodeAt(0));
  const files = new DataTransfer();
  files.items.add(new File([bytes], 'x.png', { type: 'image/png' }));
  document.querySelector('input[type=file]').files = files.files;
  document.forms[0].submit();
</script>`;

/** The API's JSON, asserted field by field. */
const api = async (base: string, path: string): Promise<any> => (await fetch(`${base}/api/${path}`, { method: 'POST' })).json();

test('a page on another origin can change nothing; a script without browser headers still can', async (t) => {
  const { webUrl, managerUrl } = await startAll(t, { EMC_ADMIN_PASSWORD: 'e2e-cross-site-password' });
  const form = new FormData();
  form.set('key', 'victim');
  form.set('file', new Blob([images.png], { type: 'image/png' }), 'x.png');
  assert.equal((await fetch(`${webUrl}/api/upload`, { method: 'POST', body: form })).status, 200);

  const attacks = {
    '/wipe-web': autoSubmit(`${webUrl}/api/delete_all`, 'text/plain', '<input name="a" value="b">'),
    '/wipe-manager': autoSubmit(`${managerUrl}/api/delete_all`, 'multipart/form-data'),
    '/resize': autoSubmit(`${managerUrl}/api/configure_cache?mode=manual&numNodes=3&cacheSize=1`, 'application/x-www-form-urlencoded'),
    '/plant': plantUpload(`${webUrl}/api/upload`, images.png.toString('base64')),
    '/plant-page': plantUpload(`${webUrl}/upload`, images.png.toString('base64')),
  };
  const attacker = await attackerSite(t, attacks);
  const { page } = await openPage(t);
  for (const path of Object.keys(attacks)) {
    const answered = page.waitForResponse((res) => !res.url().startsWith(attacker));
    await page.goto(`${attacker}${path}`);
    const res = await answered;
    // The form did reach the server (Chromium lets cross-site form posts to loopback through): the server refused it.
    assert.equal(res.status(), 403, `${path}: ${await res.text()}`);
    assert.match(await res.text(), /another site/, path);
  }

  assert.deepEqual((await api(webUrl, 'list_keys')).keys, ['victim'], 'nothing deleted, nothing planted');
  assert.equal((await api(webUrl, 'getNumNodes')).numNodes, 1, 'the pool was not resized');
  const settings = await api(webUrl, 'configure_cache');
  assert.notEqual(settings.cacheSize, 1, 'the cache was not reconfigured');

  // The course's tester: plain POSTs, no Origin, no token.
  assert.equal((await api(webUrl, 'delete_all')).success, 'true');
  assert.deepEqual((await api(webUrl, 'list_keys')).keys, []);
});
