import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const artifacts = join(import.meta.dirname, '..', 'artifacts');

// Debian's Chromium; playwright's own browser download cannot work offline.
const executablePath = '/usr/bin/chromium';
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A fresh browser page, closed after the test; script errors and failed sub-resources are collected. */
export async function openPage(t: TestContext): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  await mkdir(artifacts, { recursive: true });
  const browser = await chromium.launch({ executablePath, args });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Pages may answer 4xx on purpose (a look-up that finds nothing is a 404 page), so
  // Chromium's "Failed to load resource" for documents is not an error; sub-resources are.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.request().isNavigationRequest()) errors.push(`${res.status()} ${res.url()}`);
  });
  return { browser, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}
