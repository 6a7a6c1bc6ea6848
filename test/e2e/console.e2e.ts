import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, screenshot } from './browser.js';
import { startAll } from './server.js';

const password = 'e2e-console-password';

type ChartGlobal = { getChart(canvas: unknown): { data: { datasets: { data: (number | null)[] }[] } } | undefined };

/**
 * Whether the dashboard's chart for `series` ends on `value`. A function, not a string:
 * Playwright would re-evaluate a string with eval, which the console's CSP forbids.
 */
const chartEndsOn = ([series, value]: [string, number]) => {
  const chart = (globalThis as unknown as { Chart?: ChartGlobal }).Chart;
  const canvas = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
    `canvas[data-series="${series}"]`,
  );
  const data = chart?.getChart(canvas)?.data.datasets[0]?.data ?? [];
  return data.filter((v) => v !== null).at(-1) === value;
};

test('an operator logs in, reconfigures the cache, adds a node and sees it in the table and the nodes chart, then switches to automatic mode', async (t) => {
  const { managerUrl } = await startAll(t, { EMC_ADMIN_PASSWORD: password, EMC_STATS_INTERVAL_S: '0.3' });
  const { page, errors } = await openPage(t);

  await page.goto(managerUrl);
  assert.match(page.url(), /\/login\?next=/);
  await screenshot(page, 'console-login');
  await page.getByLabel('Admin password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/dashboard$/);
  await page.waitForFunction(chartEndsOn, ['nodes', 1] as [string, number]);
  await screenshot(page, 'console-dashboard');

  await page.getByRole('navigation').getByRole('link', { name: 'Cache', exact: true }).click();
  await page.getByLabel(/Capacity per node/).fill('32');
  await page.getByLabel('Replacement policy').selectOption('RR');
  await page.getByRole('button', { name: 'Apply to every node' }).click();
  assert.match(await page.locator('.flash').innerText(), /32 MB/);
  assert.match(await page.locator('table').innerText(), /node-1\s+32\s+RR/);
  await screenshot(page, 'console-cache');

  await page.getByRole('navigation').getByRole('link', { name: 'Pool', exact: true }).click();
  await page.getByRole('button', { name: '+1 node' }).click();
  assert.match(await page.locator('.flash').innerText(), /1 node to 2 nodes/);
  const rows = await page.locator('table.nodes tbody tr').allInnerTexts();
  assert.equal(rows.length, 2);
  assert.match(rows[1]!, /node-2/);
  await screenshot(page, 'console-pool-grown');

  // The new node reports within a publishing interval; the dashboard draws it.
  await page.waitForTimeout(800);
  await page.getByRole('navigation').getByRole('link', { name: 'Dashboard', exact: true }).click();
  await page.waitForFunction(chartEndsOn, ['nodes', 2] as [string, number], { timeout: 10_000 });

  await page.getByRole('navigation').getByRole('link', { name: 'Pool', exact: true }).click();
  await page.getByLabel('Mode').selectOption('auto');
  await page.getByLabel(/Max miss rate/).fill('80%');
  await page.getByLabel(/Min miss rate/).fill('20%');
  await page.getByRole('button', { name: 'Save the policy' }).click();
  assert.equal(await page.locator('[data-mode]').getAttribute('data-mode'), 'auto');
  assert.ok(await page.getByRole('button', { name: '+1 node' }).isDisabled(), 'manual steps are off in automatic mode');
  await screenshot(page, 'console-pool-auto');

  await page.getByRole('navigation').getByRole('link', { name: 'Workers', exact: true }).click();
  assert.match(await page.getByRole('status').innerText(), /The web pool is not configured\.[\s\S]*EMC_WEB_POOL=cluster/);
  await screenshot(page, 'console-workers-none');

  await page.getByRole('navigation').getByRole('link', { name: 'Danger zone', exact: true }).click();
  await screenshot(page, 'console-danger');
  assert.deepEqual(errors, [], 'no script errors, no failed resources (a CSP violation would show here)');
});
