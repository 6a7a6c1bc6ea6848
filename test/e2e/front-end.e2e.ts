import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { images } from '../helpers/fixtures.js';
import { openPage, screenshot } from './browser.js';
import { startAll } from './server.js';

test('a person uploads an image, sees it on the look-up page, misses an unknown key and lists the keys', async (t) => {
  const { webUrl } = await startAll(t, { EMC_ADMIN_PASSWORD: 'e2e-password-123' });
  const { page, errors } = await openPage(t);
  const file = join(await mkdtemp(join(tmpdir(), 'emc-e2e-img-')), 'cat.gif');
  await writeFile(file, images.gif);

  await page.goto(`${webUrl}/`);
  await screenshot(page, 'web-home');
  await page.getByRole('link', { name: 'Upload', exact: true }).first().click();
  await page.getByLabel('Key').fill('holiday/cat 1');
  await page.getByLabel(/Image/).setInputFiles(file);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('status').waitFor();
  assert.match(await page.getByRole('status').innerText(), /Stored holiday\/cat 1 \(image\/gif, \d+ bytes\)/);
  await screenshot(page, 'web-upload');

  await page.getByRole('link', { name: 'holiday/cat 1' }).click();
  const img = page.getByRole('img', { name: 'the image stored under holiday/cat 1' });
  await img.waitFor();
  assert.equal(await img.evaluate((el) => (el as unknown as { complete: boolean; naturalWidth: number }).naturalWidth), 1, 'the image loaded and decoded');
  await screenshot(page, 'web-lookup-found');

  await page.goto(`${webUrl}/lookup`);
  await page.getByLabel('Key').fill('no such key');
  await page.getByRole('button', { name: 'Look up' }).click();
  assert.match(await page.getByRole('alert').innerText(), /Not found: no image is stored under no such key/);
  await screenshot(page, 'web-lookup-missing');

  await page.getByRole('link', { name: 'All keys' }).click();
  assert.deepEqual(await page.locator('ul.keys li').allInnerTexts(), ['holiday/cat 1']);
  await screenshot(page, 'web-keys');
  assert.deepEqual(errors, [], 'no errors in the browser console');
});
