// (g) Start-up: how long a second `npm start` (the model unchanged, the database already
// migrated) takes until `/` answers 200, next to `tsx src/cli.ts start` alone. Each start is a
// real process group (npm → sh → tsx → node) on free ports, stopped with SIGTERM to the group.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './bench-processes.js';
import { atMost, fixed, median } from './bench-stats.js';
import type { Bench, BenchOptions, BenchOutcome } from './bench-types.js';

const root = join(import.meta.dirname, '..');
const TARGET_S = 2;

/** Seconds from spawning `command` until GET / answers 200; the process group is stopped after. */
async function timeToFirstPage(command: string[], dataDir: string): Promise<number> {
  const [web, manager] = [await freePort(), await freePort()];
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: { ...process.env, EMC_DATA_DIR: dataDir, EMC_WEB_PORT: String(web), EMC_MANAGER_PORT: String(manager) },
    stdio: 'ignore',
    detached: true,
  });
  const exited = once(child, 'exit');
  try {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${web}/`)).status === 200) return (performance.now() - started) / 1000;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}`);
      if (performance.now() - started > 60_000) throw new Error(`${command.join(' ')} served no page within 60 s`);
      await sleep(10);
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

async function run(options: BenchOptions): Promise<BenchOutcome> {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-bench-start-'));
  try {
    const commands = { 'npm start': ['npm', 'start', '--silent'], 'tsx src/cli.ts start': [join(root, 'node_modules', '.bin', 'tsx'), 'src/cli.ts', 'start'] };
    // The first start generates what is missing and migrates the new database: not what is measured.
    const first = await timeToFirstPage(commands['npm start'], dataDir);
    const samples: Record<string, number[]> = {};
    for (let i = 0; i < options.runs; i++) {
      for (const [name, command] of Object.entries(commands)) (samples[name] ??= []).push(await timeToFirstPage(command, dataDir));
    }
    const npmStart = median(samples['npm start']!);
    return {
      heading: `start-up to the first 200 from /, median of ${options.runs}`,
      rows: [
        { start: 'first npm start (new database)', seconds: fixed(first) },
        ...Object.entries(samples).map(([name, s]) => ({ start: `second ${name}`, seconds: fixed(median(s)), runs: s.map((x) => fixed(x)).join(' ') })),
      ],
      verdicts: [atMost('second npm start → first 200 from / (s)', npmStart, TARGET_S)],
      data: { firstSeconds: first, samples },
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const startTimeBench: Bench = { id: 'g', name: 'start-up time', run };
