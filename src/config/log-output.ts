import type { DestinationStream } from 'pino';
import type { Config } from './config.js';

/**
 * Where pino writes: standard output as JSON lines (the default, as on a server), or, when
 * config.logFormat is `pretty`, through pino-pretty as one human-readable line per event
 * (coloured on a terminal).
 * pino-pretty runs as a synchronous stream in this thread, not as a worker transport: a
 * worker would cost start-up time and could lose the last lines on exit.
 */
export async function logOutput(config: Pick<Config, 'logFormat'>): Promise<DestinationStream | undefined> {
  if (config.logFormat === 'json') return undefined;
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,role,node',
    messageFormat: '{role}{if node} {node}{end} | {msg}',
  });
}
