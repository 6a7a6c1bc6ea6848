// `emc start [--role <role>]` and `emc migrate`. Reads the environment once,
// builds the role's listeners, and closes them cleanly on SIGINT/SIGTERM
// (a cache node spawned by a parent also when that parent goes away).
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { ConfigError, loadConfig, roles } from './config/config.js';
import { OUTLIVE_MESSAGE } from './roles/cache/cache-node-launch.js';
import { startRole } from './server.js';

const usage = `usage: emc start [--role ${roles.join('|')}]
       emc migrate          apply database migrations and exit`;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return;
  }
  const env = { ...process.env, ...(values.role ? { EMC_ROLE: values.role } : {}) };
  const config = loadConfig(env, { stdoutIsTTY: process.stdout.isTTY === true });
  if (command === 'migrate') {
    const { migrate } = await import('./db/migrate.js');
    const applied = await migrate(config.database);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return;
  }
  if (command !== 'start') throw new ConfigError(`unknown command "${command}"\n${usage}`);
  let stopping = false;
  const running = await startRole(config, { stop: (why) => stop(why) });
  function stop(signal: string): void {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err) => {
        running.log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  }
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // A cache node spawned with an IPC channel belongs to its parent: when the parent dies,
  // even by SIGKILL, the channel closes, and the node must not live on as an orphan. A
  // manager whose nodes outlive it lets a node go once the database records it (the next
  // leader adopts it from there): it says so before it closes the channel.
  if (config.role === 'cache' && process.send) {
    if (!process.connected) return stop('disconnect');
    const orphaned = () => stop('disconnect');
    process.once('disconnect', orphaned);
    process.on('message', (message) => {
      if (isDeepStrictEqual(message, OUTLIVE_MESSAGE)) process.off('disconnect', orphaned);
    });
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? err.message : err);
  process.exit(2);
});
