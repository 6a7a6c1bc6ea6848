// (g) Start-up: how long a second `npm start` (the model unchanged, the database already
// migrated) takes until `/` answers 200, next to `tsx src/cli.ts start` alone. Each start is a
// real process group (npm → sh → tsx → node) on free ports, stopped with SIGTERM to the group.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './bench-processes.js';
import { atMost, fixed, median } from './bench-stats.js';
import type { Bench, BenchOptions, BenchOutcome } from './bench-types.js';

const root = join(import.meta.dirname, '..');
const TARGET_S = 2;

/**
 * CPU seconds the process group has used so far (its processes' own and their reaped
 * children's, from /proc at 100 ticks a second): unlike the wall time, hardly moved by other
 * work on a shared machine.
 */
async function groupCpuSeconds(pgid: number): Promise<number> {
  let ticks = 0;
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const fields = await readFile(`/proc/${pid}/stat`, 'utf8').then((stat) => stat.split(') ')[1]!.split(' '), () => undefined);
    if (fields && Number(fields[2]) === pgid) ticks += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  }
  return ticks / 100;
}

type Start = { seconds: number; cpuSeconds: number };

/** Wall and CPU seconds from spawning `command` until GET / answers 200; the process group is stopped after. */
async function timeToFirstPage(command: string[], dataDir: string): Promise<Start> {
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
        if ((await fetch(`http://127.0.0.1:${web}/`)).status === 200) {
          const seconds = (performance.now() - started) / 1000;
          return { seconds, cpuSeconds: await groupCpuSeconds(child.pid!) };
        }
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
    const commands = { 'npm start': ['npm', 'start', '--silent'], 'emc start': [process.execPath, 'bin/emc.js', 'start'] };
    // The first start generates what is missing and migrates the new database: not what is measured.
    const first = await timeToFirstPage(commands['npm start'], dataDir);
    const samples: Record<string, Start[]> = {};
    for (let i = 0; i < options.runs; i++) {
      for (const [name, command] of Object.entries(commands)) (samples[name] ??= []).push(await timeToFirstPage(command, dataDir));
    }
    const row = (start: string, runs: Start[]) => ({
      start,
      seconds: fixed(median(runs.map((r) => r.seconds))),
      'CPU seconds': fixed(median(runs.map((r) => r.cpuSeconds))),
      runs: runs.map((r) => fixed(r.seconds)).join(' '),
    });
    return {
      heading: `start-up to the first 200 from /, median of ${options.runs}`,
      rows: [row('first npm start (new database)', [first]), ...Object.entries(samples).map(([name, runs]) => row(`second ${name}`, runs))],
      notes: ['CPU seconds: of the whole process group (npm, sh, node), a figure that other work on the machine hardly moves'],
      verdicts: [atMost('second npm start → first 200 from / (s)', median(samples['npm start']!.map((r) => r.seconds)), TARGET_S)],
      data: { firstSeconds: first, samples },
    };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const startTimeBench: Bench = { id: 'h', name: 'start-up time', run };
