import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';

/** How a child ended; `error` when it could not be spawned at all. */
export type ChildExit = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/** Settles once, when the child has exited or failed to spawn. */
export function exitOf(child: ChildProcess): Promise<ChildExit> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // 'error' also reports a failed kill or send; only a failed spawn (no pid) means it is gone.
    child.on('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
}

export function describeExit({ code, signal, error }: ChildExit): string {
  if (error) return `could not be spawned: ${error.message}`;
  return code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
}

/** A port nobody listens on right now; the child may still lose it to another process (callers retry). */
export async function freePort(host: string): Promise<number> {
  const server = createServer().listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The exit of a process that is not our child (an adopted node): seen by polling, its status unknown. */
export async function pidExit(pid: number, pollMs = 200): Promise<ChildExit> {
  while (isRunning(pid)) await new Promise((r) => setTimeout(r, pollMs).unref());
  return { code: null, signal: null };
}

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function terminate(pid: number | undefined, exited: Promise<ChildExit>, graceMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  const timer = setTimeout(() => signal(pid, 'SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** One GET without keep-alive, so no idle socket to the child outlives the probe. */
function answers(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** Polls `url` until it answers 200; rejects if the child exits first or the deadline passes. */
export async function waitForHealthy(url: string, exited: Promise<ChildExit>, timeoutMs: number): Promise<void> {
  let exit: ChildExit | undefined;
  void exited.then((e) => (exit = e));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit) throw new Error(`${describeExit(exit)} before it answered ${url}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`did not answer ${url} within ${timeoutMs} ms`);
    if (await answers(url, Math.min(left, 1000))) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, Math.min(100, left)))), exited]);
    clearTimeout(timer);
  }
}
