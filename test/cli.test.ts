import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { images } from './helpers/fixtures.js';
import { createDb } from '../src/db/database.js';
import { loadConfig } from '../src/config/config.js';
import { freePort, killAll, pidOf, runEmc, survivors, waitForHealth } from './helpers/process.js';

test('emc start --role all serves web and manager over real HTTP and stops cleanly on SIGTERM', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-cli-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const [web, manager] = [await freePort(), await freePort()];
  const emc = runEmc(['start', '--role', 'all'], {
    EMC_DATA_DIR: dataDir,
    EMC_WEB_PORT: String(web),
    EMC_MANAGER_PORT: String(manager),
  });
  t.after(() => emc.child.kill('SIGKILL'));
  await waitForHealth(`http://127.0.0.1:${web}/health`);
  await waitForHealth(`http://127.0.0.1:${manager}/health`);

  // What the course's curl client sends: -F key=k1 -F file=@x.png
  const form = new FormData();
  form.set('key', 'k1');
  form.set('file', new Blob([images.png], { type: 'image/png' }), 'x.png');
  const uploaded = await fetch(`http://127.0.0.1:${web}/api/upload`, { method: 'POST', body: form });
  assert.equal(await uploaded.text(), '{"success":"true","key":"k1"}');
  // Both listeners share one store.
  const got = await fetch(`http://127.0.0.1:${manager}/api/key/k1`, { method: 'POST' });
  assert.equal(((await got.json()) as { content: string }).content, images.png.toString('base64'));

  emc.child.kill('SIGTERM');
  assert.equal(await emc.exited, 0);
  assert.match(emc.output(), /EMC_ADMIN_TOKEN is not set/);
  const password = /this run's admin password is: (\S+)/.exec(emc.output())?.[1];
  assert.ok(password, 'role all on loopback prints a generated console password');
  const logLines = emc.output().split('\n').filter((line) => line.startsWith('{'));
  assert.ok(logLines.length > 0 && logLines.every((line) => !line.includes(password)), 'the password is in no log line');
});

test('a bad environment value stops emc with a message naming the variable', async () => {
  const emc = runEmc(['start'], { EMC_WEB_PORT: 'eighty' });
  assert.equal(await emc.exited, 2);
  assert.match(emc.output(), /invalid configuration:\n\s+EMC_WEB_PORT="eighty"/);
});

test('an unknown command or role is refused with usage', async () => {
  const unknown = runEmc(['launch'], {});
  assert.equal(await unknown.exited, 2);
  assert.match(unknown.output(), /unknown command "launch"[\s\S]*usage: emc start/);
  const role = runEmc(['start', '--role', 'nope'], {});
  assert.equal(await role.exited, 2);
  assert.match(role.output(), /EMC_ROLE="nope"/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to emc start with a process pool leaves no cache child running`, { timeout: 90_000 }, async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'emc-cli-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const [web, manager] = [await freePort(), await freePort()];
    const emc = runEmc(['start'], {
      EMC_DATA_DIR: dataDir,
      EMC_WEB_PORT: String(web),
      EMC_MANAGER_PORT: String(manager),
      EMC_PROVIDER: 'process',
      EMC_MIN_NODES: '2',
      EMC_LOG_LEVEL: 'warn',
    });
    t.after(() => emc.child.kill('SIGKILL'));
    await waitForHealth(`http://127.0.0.1:${web}/health`, 60_000);
    const db = createDb(loadConfig({ EMC_DATA_DIR: dataDir }).database);
    const pids = (await db.poolNode.findMany()).map((n) => pidOf(n.instanceId));
    await db.$disconnect();
    t.after(() => killAll(pids));
    assert.equal(pids.length, 2);
    assert.deepEqual(await survivors(pids, 0), pids, 'both children run');

    emc.child.kill(signal);
    assert.equal(await emc.exited, 0);
    assert.deepEqual(await survivors(pids, 10_000), [], 'no child outlives the parent');
  });
}
