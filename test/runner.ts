// `npm test`: runs the suites with Node's test runner (through tsx) against a PostgreSQL
// server of their own. Unless EMC_TEST_DATABASE_URL names an external server, it starts one
// embedded server for the whole run, migrates a template database once (every suite copies
// it into a fresh database, test/helpers/database.ts), and stops the server and removes its
// directory when the suites end — also when they fail or the run is interrupted.
// The test runner's output and exit status pass through unchanged.
//   tsx test/runner.ts [--test-concurrency=N] [file…]    (no files: every test/*.test.ts; one file at a time unless N says otherwise)
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { migrate } from '../src/db/migrate.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './harness/embedded-postgres.js';
import { createDatabase, TEMPLATE_DATABASE, TEMPLATE_URL_VARIABLE } from './harness/suite-database.js';

const args = process.argv.slice(2);
const concurrency = args.find((arg) => arg.startsWith('--test-concurrency=')) ?? '--test-concurrency=1';
const files = args.filter((arg) => arg !== concurrency);
if (files.length === 0) {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  files.push(...readdirSync(dir).filter((name) => name.endsWith('.test.ts')).sort().map((name) => `test/${name}`));
}

let interrupted: NodeJS.Signals | undefined;
let child: ChildProcess | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    interrupted = signal;
    // A terminal's Ctrl-C reaches the suites by itself; a signal sent to this process alone is passed on.
    child?.kill(signal);
  });
}

/** The embedded server with its migrated template database; its URL goes to the suites in `env`. */
async function startServer(env: NodeJS.ProcessEnv): Promise<EmbeddedPostgres> {
  const started = performance.now();
  const server = await startEmbeddedPostgres();
  try {
    await createDatabase(server.url('postgres'), TEMPLATE_DATABASE);
    await migrate({ provider: 'postgres', url: server.url(TEMPLATE_DATABASE), poolSize: 1 });
  } catch (error) {
    await server.stop();
    throw error;
  }
  env[TEMPLATE_URL_VARIABLE] = server.url(TEMPLATE_DATABASE);
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.error(`npm test: PostgreSQL (embedded) on 127.0.0.1:${server.port} in ${server.dir}, ready in ${seconds} s`);
  return server;
}

function runSuites(env: NodeJS.ProcessEnv): Promise<number> {
  const tsx = fileURLToPath(import.meta.resolve('tsx/cli'));
  child = spawn(process.execPath, [tsx, '--test', concurrency, ...files], { stdio: 'inherit', env });
  return new Promise((resolve) => child!.once('exit', (code, signal) => resolve(code ?? 128 + constants.signals[signal!])));
}

const env = { ...process.env };
let server: EmbeddedPostgres | undefined;
let status: number;
try {
  if (!env.EMC_TEST_DATABASE_URL) server = await startServer(env);
  status = interrupted ? 0 : await runSuites(env);
} catch (error) {
  console.error(`npm test: ${(error as Error).message}\nSet EMC_TEST_DATABASE_URL=postgres://… to run the suites against another PostgreSQL server.`);
  status = 1;
} finally {
  await server?.stop();
}
process.exit(interrupted ? 128 + constants.signals[interrupted] : status);
