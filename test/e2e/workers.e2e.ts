import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freePort, killAll, runEmc, waitForHealth } from '../helpers/process.js';
import { openPage, screenshot } from './browser.js';

const password = 'e2e-workers-password';

type ChartGlobal = { getChart(canvas: unknown): { data: { labels: unknown[]; datasets: { data: (number | null)[] }[] } } | undefined };

/**
 * Whether every chart on the page is drawn with the 30-minute window, and `reported` of them
 * show at least one reported minute. A function, not a string: the CSP forbids eval.
 */
const chartsDrawn = ([series, reported]: [string[], string[]]) => {
  const chart = (globalThis as unknown as { Chart?: ChartGlobal }).Chart;
  const doc = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document;
  return series.every((name) => {
    const drawn = chart?.getChart(doc.querySelector(`canvas[data-series="${name}"]`))?.data;
    if (!drawn || drawn.labels.length !== 30) return false;
    return !reported.includes(name) || drawn.datasets[0]!.data.some((v) => v !== null);
  });
};

/**
 * `emc start` as its own process: its web workers are `cluster` forks of it, which take their
 * configuration from its environment (forks of this test process would not have it).
 */
async function startProduct(t: TestContext, env: Record<string, string>): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-e2e-workers-'));
  const [webPort, managerPort] = [await freePort(), await freePort()];
  const product = runEmc(['start', '--role', 'all'], {
    EMC_DATA_DIR: dataDir,
    EMC_LOG_LEVEL: 'warn',
    EMC_WEB_PORT: String(webPort),
    EMC_MANAGER_PORT: String(managerPort),
    ...env,
  });
  t.after(async () => {
    product.child.kill('SIGTERM');
    const exited = await Promise.race([product.exited, new Promise((resolve) => setTimeout(resolve, 20_000, 'still running'))]);
    if (exited === 'still running') killAll([product.child.pid!]);
    await rm(dataDir, { recursive: true, force: true });
  });
  const managerUrl = `http://127.0.0.1:${managerPort}`;
  // Role all opens its ports once both pools are up (a cache node and a worker, each a Node process).
  await waitForHealth(`${managerUrl}/health`, 120_000);
  return managerUrl;
}

test('an operator sees the web pool’s workers, adds one, and opens a worker’s four charts', async (t) => {
  const managerUrl = await startProduct(t, {
    EMC_ADMIN_PASSWORD: password,
    EMC_WEB_POOL: 'cluster',
    EMC_PROVIDER: 'process',
    EMC_MAX_WORKERS: '3',
    EMC_STATS_INTERVAL_S: '0.5',
  });
  const { page, errors } = await openPage(t);

  await page.goto(`${managerUrl}/workers`);
  await page.getByLabel('Admin password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/workers$/);
  // The leader starts the first worker in the background; the page lists it once it serves.
  const rows = page.locator('table.workers tbody tr');
  for (let tries = 0; (await rows.count()) === 0 && tries < 60; tries++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { worker: string } }).dataset.worker)), ['worker-1']);
  assert.match(await rows.first().innerText(), /worker-1\s[\s\S]*active\s+healthy/);
  await screenshot(page, 'console-workers');

  await page.getByRole('button', { name: '+1 worker' }).click();
  assert.match(await page.locator('.flash').innerText(), /1 worker to 2 workers/);
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(1).innerText(), /worker-2[\s\S]*healthy/);
  await screenshot(page, 'console-workers-grown');

  await page.getByRole('link', { name: 'worker-1' }).click();
  await page.waitForURL(/\/workers\/worker-1$/);
  assert.equal(await page.locator('h1').innerText(), 'Worker worker-1');
  // The worker publishes its statistics every half second; its CPU and traffic charts fill in.
  const series = ['cpu', 'requests', 'bytesIn', 'bytesOut'];
  await page.waitForFunction(chartsDrawn, [series, ['cpu']] as [string[], string[]], { timeout: 20_000 });
  await screenshot(page, 'console-worker-details');

  await page.getByRole('navigation').getByRole('link', { name: 'Dashboard', exact: true }).click();
  await page.waitForFunction(chartsDrawn, [['workers', 'cpu'], ['workers']] as [string[], string[]], { timeout: 20_000 });
  await screenshot(page, 'console-dashboard-workers');
  assert.deepEqual(errors, [], 'no script errors, no failed resources (a CSP violation would show here)');
});
