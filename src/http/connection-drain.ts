import { Server as NetServer, type Socket } from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

type Connection = { open: Set<ServerResponse>; idleSince: number };

/** How often a drain looks for connections it may close. */
const DRAIN_POLL_MS = 50;

/**
 * Lets a listener be taken out of service without failing a request: `drain` stops accepting
 * connections, answers every request still to come on an open connection with
 * `Connection: close` (the client opens its next connection elsewhere), and closes a
 * keep-alive connection only once it has been idle for `idleGraceMs`. Closing idle ones at
 * once (as `http.Server.close` does) races a client that is sending its next request on one
 * at that moment, and that request fails. Resolves when every connection is closed, or at the
 * deadline with the rest still open.
 */
export function trackConnections(server: Server) {
  const connections = new Map<Socket, Connection>();
  let draining = false;

  server.on('connection', (socket: Socket) => {
    connections.set(socket, { open: new Set(), idleSince: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  // First among the request listeners: the header must be set before the application answers.
  server.prependListener('request', (request, response: ServerResponse) => {
    const connection = connections.get(request.socket);
    if (draining) response.setHeader('connection', 'close');
    if (!connection) return;
    connection.open.add(response);
    response.once('close', () => {
      connection.open.delete(response);
      connection.idleSince = Date.now();
    });
  });

  return {
    async drain({ timeoutMs, idleGraceMs }: { timeoutMs: number; idleGraceMs: number }): Promise<void> {
      draining = true;
      for (const { open } of connections.values()) {
        for (const response of open) if (!response.headersSent) response.setHeader('connection', 'close');
      }
      // The plain net close: no new connections, and the open ones are left to the loop below
      // (its callback would only come once they are all closed).
      NetServer.prototype.close.call(server);
      const deadline = Date.now() + timeoutMs;
      while (connections.size > 0 && Date.now() < deadline) {
        const now = Date.now();
        for (const [socket, { open, idleSince }] of connections) {
          if (open.size === 0 && now - idleSince >= idleGraceMs) socket.destroy();
        }
        await sleep(DRAIN_POLL_MS);
      }
    },
  };
}
