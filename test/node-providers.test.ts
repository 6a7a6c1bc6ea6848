import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DEFAULT_CACHE_CONFIG } from '../src/cache/cache-types.js';
import { CACHE_NODE_ENV, CACHE_NODE_EXEC_ARGV } from '../src/roles/cache/cache-node-launch.js';
import { createInProcessProvider } from '../src/scaling/inprocess-provider.js';
import { createProcessProvider, type ProcessProviderOptions } from '../src/scaling/process-provider.js';
import { valueOf } from './helpers/pool.js';
import { alive, killAll, pidOf, survivors } from './helpers/process.js';

const repoRoot = join(import.meta.dirname, '..');

async function tempDataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'emc-providers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function recordingLog() {
  const errors: string[] = [];
  const ignore = () => {};
  return { errors, log: { info: ignore, warn: ignore, error: (_obj: unknown, msg?: string) => void errors.push(msg ?? '') } };
}

test('the in-process provider hosts shards with the default configuration, one node object each', async () => {
  const provider = createInProcessProvider();
  const a = await provider.start('node-a');
  const b = await provider.start('node-b');
  assert.deepEqual(a, { id: 'node-a', instanceId: null, address: 'inprocess' });
  assert.deepEqual(await provider.list(), [a, b]);
  assert.deepEqual(await provider.start('node-a'), a, 'starting a running node keeps it');

  const node = provider.connect(a);
  assert.equal(provider.connect(a), node, 'one node object per shard');
  assert.equal(await node.put('k', valueOf('k', 10)), true);
  assert.equal((await node.get('k'))?.etag, '"k"');
  assert.equal((await node.stats()).hits, 1);
  const other = provider.connect(b);
  const fresh = await other.stats();
  assert.deepEqual(
    { capacityBytes: fresh.capacityBytes, policy: fresh.policy },
    { capacityBytes: DEFAULT_CACHE_CONFIG.capacityMb * 1024 * 1024, policy: DEFAULT_CACHE_CONFIG.policy },
    'a shard starts with the defaults until the controller configures it',
  );
  assert.equal(fresh.hits, 0, 'each shard has its own store');

  assert.throws(() => provider.connect({ id: 'elsewhere', instanceId: null, address: 'inprocess' }), /elsewhere.*not hosted by this process/);
  await provider.stop('node-a');
  await provider.stop('node-a');
  assert.deepEqual(await provider.list(), [b]);
  assert.throws(() => provider.connect(a), /not hosted/);
  await provider.close();
  assert.deepEqual(await provider.list(), []);
});

test('the process provider runs cache nodes as child processes reached over HTTP', async (t) => {
  const dataDir = await tempDataDir(t);
  const { errors, log } = recordingLog();
  const provider = createProcessProvider({ childEnv: { EMC_DATA_DIR: dataDir, EMC_LOG_LEVEL: 'warn' }, timeoutMs: 2000, log });
  const pids: number[] = [];
  t.after(async () => {
    await provider.close();
    killAll(pids);
  });

  const nodes = await Promise.all(['p-1', 'p-2', 'p-3'].map((id) => provider.start(id)));
  pids.push(...nodes.map((n) => pidOf(n.instanceId)));
  // Started as production starts every cache node: its Node options and environment.
  const argv = readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8').split('\0');
  for (const option of CACHE_NODE_EXEC_ARGV) assert.ok(argv.includes(option), `child runs with ${option}: ${argv.join(' ')}`);
  const environ = readFileSync(`/proc/${pids[0]}/environ`, 'utf8').split('\0');
  for (const [name, value] of Object.entries(CACHE_NODE_ENV)) assert.ok(environ.includes(`${name}=${value}`), `child has ${name}=${value}`);
  for (const [i, node] of nodes.entries()) {
    assert.match(node.instanceId!, /^pid:\d+$/);
    assert.match(node.address, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(alive(pids[i]!));
    const client = provider.connect(node);
    assert.equal(await client.put(`k${i}`, valueOf(`k${i}`, 100)), true);
    assert.equal((await client.get(`k${i}`))?.bytes.length, 100);
    assert.equal((await client.stats()).hits, 1, 'each child has its own store');
    await client.close();
  }
  assert.deepEqual(
    (await provider.list()).map((n) => n.id).sort(),
    ['p-1', 'p-2', 'p-3'],
  );
  assert.throws(() => provider.connect({ id: 'x', instanceId: null, address: 'inprocess' }), /not an http:\/\/ origin/);

  await provider.stop('p-1');
  assert.equal(alive(pids[0]!), false, 'stop waits for the exit');
  await provider.stop('p-1');

  // A child that dies on its own is logged and leaves the list.
  process.kill(pids[2]!, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while ((await provider.list()).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual((await provider.list()).map((n) => n.id), ['p-2']);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /cache node p-3 was killed by SIGKILL unexpectedly/);

  await provider.close();
  assert.equal(alive(pids[1]!), false, 'close stops the rest');
  assert.deepEqual(await provider.list(), []);
  await assert.rejects(provider.start('p-4'), /provider is closed/);
});

test('a node that cannot start rejects start() with its reason and leaves no child', async (t) => {
  const options: ProcessProviderOptions = {
    childEnv: { EMC_DATA_DIR: await tempDataDir(t), DATABASE_URL: 'mysql://x' },
    log: recordingLog().log,
  };
  const provider = createProcessProvider(options);
  t.after(() => provider.close());
  const error: Error = await provider.start('bad').then(
    () => assert.fail('started'),
    (err: Error) => err,
  );
  assert.match(error.message, /^cache node bad \(pid \d+\) failed to start: exited with code 2 before it answered/);
  assert.match(error.message, /DATABASE_URL="mysql:\/\/x"/, 'the child explains itself');
  assert.equal(alive(Number(/pid (\d+)/.exec(error.message)![1])), false);
  assert.deepEqual(await provider.list(), []);
});

/** Runs the fixture parent; resolves with its children's pids once both answer. */
async function startParent(t: TestContext, dataDir: string) {
  const parent = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'fixtures', 'provider-parent.ts'), dataDir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(parent, 'exit');
  let out = '';
  parent.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const pids: number[] = [];
  t.after(() => killAll([parent.pid!, ...pids]));
  const line = await Promise.race([
    (async () => {
      while (!out.includes('\n')) await once(parent.stdout!, 'data');
      return out.split('\n')[0]!;
    })(),
    exited.then(([code]) => assert.fail(`the parent exited with ${code}: ${out}`)),
  ]);
  pids.push(...(JSON.parse(line) as number[]));
  return { parent, pids, exited };
}

test('cache children do not outlive the parent that started them', async (t) => {
  const dataDir = await tempDataDir(t);
  await t.test('the parent stops them when it is terminated', async (t) => {
    const { parent, pids, exited } = await startParent(t, dataDir);
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    parent.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
    assert.deepEqual(pids.filter(alive), [], 'close() waited for the children');
  });
  await t.test('they shut down by themselves when the parent is SIGKILLed', async (t) => {
    const { parent, pids, exited } = await startParent(t, dataDir);
    assert.ok(pids.every(alive));
    parent.kill('SIGKILL');
    await exited;
    assert.deepEqual(await survivors(pids, 8000), [], 'the IPC channel closed and the children exited');
  });
});
