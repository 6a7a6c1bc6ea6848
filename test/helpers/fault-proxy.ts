// A TCP proxy on loopback that a test can cut, stall and restore, to make a server
// (PostgreSQL, a cache node) unreachable for a while without touching the server itself.
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultProxy = {
  /** The loopback port the proxy listens on (kept across cut/stall/restore). */
  port: number;
  /** Destroys every proxied connection and stops listening: new connections are refused. */
  cut(): Promise<void>;
  /**
   * A silent network drop (a partition, a failover without a reset): nothing is closed or
   * refused, nothing is answered. Every open connection stops carrying bytes either way,
   * for good — like connections to a host that failed over, they never answer again,
   * even after `restore()`; the client has to give up on them. New connections are
   * accepted but lead nowhere (a SYN to a blackholed host is not refused: it goes
   * unanswered until the client's connect timeout, and so do these).
   * A connection the client closes is closed on the server too, so the server ends its
   * session (and rolls back its transaction) once the client has given up.
   */
  stall(): void;
  /** Ends a cut (listens again on the same port) or a stall: new connections reach the server. */
  restore(): Promise<void>;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
};

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let server: Server | undefined;
  let port = 0;
  let stalled = false;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  /** Stops forwarding what `socket` receives; it is still read (and dropped), so its close is seen. */
  const blackhole = (socket: Socket) => {
    socket.unpipe();
    socket.on('data', () => undefined);
    socket.resume();
  };

  async function listen(): Promise<void> {
    const next = createServer((client) => {
      accepted++;
      track(client);
      if (stalled) {
        client.on('error', () => undefined);
        blackhole(client);
        return;
      }
      const upstream = createConnection(target);
      track(upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    next.listen(port, '127.0.0.1');
    await once(next, 'listening');
    port = (next.address() as { port: number }).port;
    server = next;
  }

  async function stop(): Promise<void> {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  }

  await listen();
  return {
    get port() {
      return port;
    },
    cut: stop,
    stall() {
      stalled = true;
      for (const socket of sockets) blackhole(socket);
    },
    async restore() {
      stalled = false;
      if (!server) await listen();
    },
    accepted: () => accepted,
    close: stop,
  };
}
