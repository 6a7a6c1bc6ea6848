import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { freePort, runEmc, waitForHealth } from './helpers/process.js';

test('logs are human-readable on a terminal and JSON otherwise, unless EMC_LOG_FORMAT says which', () => {
  assert.equal(loadConfig({}, { stdoutIsTTY: true }).logFormat, 'pretty');
  assert.equal(loadConfig({}, { stdoutIsTTY: false }).logFormat, 'json');
  assert.equal(loadConfig({}).logFormat, 'json', 'no terminal unless told');
  assert.equal(loadConfig({ EMC_LOG_FORMAT: 'json' }, { stdoutIsTTY: true }).logFormat, 'json');
  assert.equal(loadConfig({ EMC_LOG_FORMAT: 'pretty' }, { stdoutIsTTY: false }).logFormat, 'pretty');
  assert.throws(() => loadConfig({ EMC_LOG_FORMAT: 'xml' }), /EMC_LOG_FORMAT="xml"/);
});

test('emc start with pretty logs writes one readable line per event, the role before the message', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-log-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const [web, manager] = [await freePort(), await freePort()];
  const emc = runEmc(['start'], { EMC_DATA_DIR: dataDir, EMC_WEB_PORT: String(web), EMC_MANAGER_PORT: String(manager), EMC_LOG_FORMAT: 'pretty' });
  t.after(() => emc.child.kill('SIGKILL'));
  await waitForHealth(`http://127.0.0.1:${web}/health`);
  emc.child.kill('SIGTERM');
  assert.equal(await emc.exited, 0);
  const lines = emc.output().split('\n');
  assert.ok(lines.some((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: web \| Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(line)), emc.output());
  assert.ok(lines.some((line) => /^\[[\d:.]+\] INFO: manager \| Server listening/.test(line)));
  assert.ok(lines.some((line) => /^\[[\d:.]+\] INFO: web \| shutting down {"signal":"SIGTERM"}$/.test(line)), 'fields follow on the same line');
  assert.ok(!lines.some((line) => line.startsWith('{')), 'no JSON lines');
});
