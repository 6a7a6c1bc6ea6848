// One role of the fleet as its own OS process, started the way the deploy kit's unit starts
// it (`emc start --role X`, configuration only in the environment), in its own process group
// so that it and whatever it spawned can be stopped together, even after a failed test.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_NODE_ENV, cacheNodeArgs } from '../../src/roles/cache/cache-node-launch.js';
import { emcBin } from '../helpers/process.js';

export type RoleName = 'web' | 'manager' | 'scaler' | 'cache';

export type RoleProcess = {
  readonly name: string;
  readonly role: RoleName;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** 'running', or how it ended. */
  status(): string;
  /** The last lines of its log (stdout and stderr), for failure messages. */
  logTail(lines?: number): string;
  /** kill -9 of this process alone: a crash (children it spawned are not signalled). */
  crash(): Promise<void>;
  /** SIGTERM, as systemd stops a unit; SIGKILL of the whole group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole process group: cleanup. */
  killGroup(): void;
};

export type RoleSpawn = {
  name: string;
  role: RoleName;
  env: Record<string, string>;
  logDir: string;
  /** Runs the process inside this network namespace (`ip netns exec`). */
  netns?: string;
};

/** Every group ever started, so an exiting test runner can still kill what a failed test left. */
const groups = new Set<number>();
process.once('exit', () => killAllGroups());

/** Adds a process group (started detached) to what killAllGroups ends. */
export function trackGroup(pgid: number): void {
  groups.add(pgid);
}

export function spawnRole({ name, role, env, logDir, netns }: RoleSpawn): RoleProcess {
  // A cache node runs with the Node options and environment its unit file gives it.
  const args = role === 'cache' ? cacheNodeArgs() : [emcBin, 'start', '--role', role];
  const [command, argv] = netns ? ['ip', ['netns', 'exec', netns, process.execPath, ...args]] : [process.execPath, args];
  const logFile = join(logDir, `${name}.log`);
  // The log goes straight to a file: a pipe would tie this test process to whatever
  // grandchild inherits it (cache nodes that outlive their manager do).
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(command, argv as string[], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...(role === 'cache' ? CACHE_NODE_ENV : {}), ...env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  const pid = child.pid!;
  trackGroup(pid);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let done = false;
  let ending = 'running';
  void exited.then(({ code, signal }) => {
    done = true;
    ending = code !== null ? `exited with status ${code}` : `killed by ${signal}`;
  });
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the whole group is gone
    }
  };
  return {
    name,
    role,
    pid,
    exited,
    alive: () => !done,
    status: () => ending,
    logTail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async crash() {
      if (!done) process.kill(pid, 'SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!done) process.kill(pid, 'SIGTERM');
      const timer = setTimeout(killGroup, graceMs);
      await exited;
      clearTimeout(timer);
    },
    killGroup,
  };
}

/** Kills every process group this test process started (children a crashed parent left included). */
export function killAllGroups(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
}

/**
 * The pids of every process whose environment holds `entry` (e.g. this fleet's cache token):
 * what a crashed manager's cache nodes, started in process groups of their own, left running.
 */
export function processesWithEnv(entry: string): number[] {
  const found: number[] = [];
  for (const dir of readdirSync('/proc')) {
    if (!/^\d+$/.test(dir) || Number(dir) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${dir}/environ`, 'latin1').split('\0').includes(entry)) found.push(Number(dir));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
