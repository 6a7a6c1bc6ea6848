// A TCP relay on this machine's end of a namespace's link, in front of the local PostgreSQL:
// the server's pg_hba.conf admits loopback clients only, so a host in a namespace reaches the
// database through this relay (as a host reaches RDS through its endpoint). A connection the
// server terminates is closed on the client's side too.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export type TcpRelay = { readonly port: number; close(): Promise<void> };

export async function startTcpRelay(listenHost: string, target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, listenHost);
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
