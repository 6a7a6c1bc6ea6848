import type { FastifyInstance } from 'fastify';
import { trackConnections } from '../../http/connection-drain.js';

/** The leader's messages to a cluster worker of the web pool, and the worker's answer. */
export type ToWorker = { emc: 'health'; seq: number } | { emc: 'drain' };
export type FromWorker = { emc: 'health'; seq: number; ok: boolean };

/**
 * A keep-alive connection idle this long is closed by a drain: a client that keeps it busy
 * gets `Connection: close` on its next answer instead, so no request is ever cut off.
 */
const IDLE_GRACE_MS = 1000;

const isMessage = (m: unknown): m is ToWorker => typeof m === 'object' && m !== null && 'emc' in m;

/**
 * In a worker forked by the cluster provider: answers the leader's health checks with the
 * worker's own /health (a GET on the shared port could reach any worker), and on `drain`
 * takes itself out of service without failing a request, then stops. Set up before the
 * listener opens, so every connection is tracked.
 */
export function serveClusterWorker(app: FastifyInstance, { drainTimeoutMs, stop }: { drainTimeoutMs: number; stop: (why: string) => void }): void {
  const connections = trackConnections(app.server);
  let draining = false;
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.emc === 'health') {
      void app
        .inject({ method: 'GET', url: '/health' })
        .then((r) => r.statusCode === 200, () => false)
        .then((ok) => process.send?.({ emc: 'health', seq: message.seq, ok } satisfies FromWorker));
    } else if (message.emc === 'drain' && !draining) {
      draining = true;
      app.log.info({ drainTimeoutMs }, 'draining: no new connections; open ones close once their requests are answered');
      void connections.drain({ timeoutMs: drainTimeoutMs, idleGraceMs: IDLE_GRACE_MS }).then(() => stop('drained'));
    }
  });
}
