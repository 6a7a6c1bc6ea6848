import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, statSync } from 'node:fs';
import { freePort, waitForHealth } from './process.js';

/** What the AWS SDK's default chain needs to talk to moto: merged into process.env by `useMoto`. */
export type MotoEnv = {
  AWS_ENDPOINT_URL: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  /** moto 5.2.1 decompresses gzip bodies twice: large PutMetricData calls would fail with 500. */
  AWS_DISABLE_REQUEST_COMPRESSION: string;
};

export type Moto = {
  endpoint: string;
  /** The server's process group (it runs detached), for a harness that kills whole groups. */
  pid: number;
  env: MotoEnv;
  /** Forgets every bucket, instance and metric (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * moto_server on a free loopback port, in its own process group so stopping it also stops
 * anything it forked. `python3 -m moto.server` is the same server where moto_server is not on PATH.
 * Its output goes to `logFile` when given (a long run's request log), else it is kept for the error.
 */
export async function startMoto({ region = 'us-east-1', timeoutMs = 30_000, logFile }: { region?: string; timeoutMs?: number; logFile?: string } = {}): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const log = logFile === undefined ? 'pipe' : openSync(logFile, 'a');
  const child = spawnMoto(port, log);
  if (typeof log === 'number') closeSync(log);
  let output = logFile === undefined ? '' : `(see ${logFile})`;
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };
  try {
    await Promise.race([
      waitForHealth(`${endpoint}/moto-api/`, timeoutMs),
      exited.then(([code]) => Promise.reject(new Error(`moto_server exited (${code}) before listening: ${output}`))),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    pid: child.pid!,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_DISABLE_REQUEST_COMPRESSION: 'true' },
    async reset() {
      const answer = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!answer.ok) throw new Error(`moto reset answered ${answer.status}`);
    },
    stop,
  };
}

function spawnMoto(port: number, log: 'pipe' | number): ChildProcess {
  const args = ['-H', '127.0.0.1', '-p', String(port)];
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && canRun(`${dir}/moto_server`));
  const [command, argv] = onPath ? ['moto_server', args] : ['python3', ['-m', 'moto.server', ...args]];
  return spawn(command, argv, { detached: true, stdio: ['ignore', log, log] });
}

function canRun(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

type Hook = (fn: () => Promise<void>, options?: { timeout: number }) => void;

/**
 * One moto for a test file: started before, stopped after, its SDK environment in
 * process.env meanwhile (the project's own clients read the SDK's default chain).
 */
export function useMoto(hooks: { before: Hook; after: Hook }): () => Moto {
  let moto: Moto | undefined;
  const saved: Record<string, string | undefined> = {};
  hooks.before(async () => {
    moto = await startMoto();
    for (const [name, value] of Object.entries(moto.env)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  }, { timeout: 40_000 });
  hooks.after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await moto?.stop();
  });
  return () => {
    if (!moto) throw new Error('moto is not started yet (call inside a test)');
    return moto;
  };
}
