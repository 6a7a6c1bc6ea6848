import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

export type Server = { name: string; url: string; child: ChildProcess };

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Starts an entry point as its own process and waits until `probe` answers. A `.ts`
 * script runs with tsx's loader inside Node itself (not under the tsx CLI, a wrapper
 * process), so `child.pid` is always the process whose CPU and memory a benchmark reads;
 * `execArgv` are Node options (a `.js` entry point such as dist/cli.js needs no loader).
 */
export async function startServer(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  probe: string,
  execArgv: readonly string[] = [],
): Promise<Server> {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return startProcess(name, process.execPath, [...execArgv, ...loader, join(root, script), ...args], env, probe);
}

/** Starts any command (nginx, say) and waits until `probe` answers below 500. */
export async function startProcess(name: string, command: string, args: string[], env: Record<string, string>, probe: string): Promise<Server> {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, EMC_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(probe)).status < 500) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, url: probe.replace(/\/[^/]*$/, ''), child };
}

export async function stopAll(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(async ({ child }) => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
