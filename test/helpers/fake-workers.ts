import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { ProvidedMember } from '../../src/scaling/member-provider.js';
import type { WorkerProvider } from '../../src/scaling/worker-provider.js';

/**
 * A web pool for tests that drive the console in-process: each worker is a small HTTP server
 * of this process on its own loopback port, answering its health route (GET /health) as a web
 * worker does, so the console's health checks are real requests. `sick` makes one answer 503.
 */
export function loopbackWorkers(): WorkerProvider & { sick: Set<string> } {
  const running = new Map<string, { member: ProvidedMember; server: Server }>();
  const sick = new Set<string>();
  return {
    kind: 'cluster',
    sick,
    list: async () => [...running.values()].map((r) => r.member),
    async start(id) {
      const existing = running.get(id);
      if (existing) return existing.member;
      const server = createServer((req, res) => res.writeHead(req.url === '/health' && sick.has(id) ? 503 : 200).end('ok'));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      const member = { id, instanceId: `loopback:${port}`, address: `http://127.0.0.1:${port}` };
      running.set(id, { member, server });
      return member;
    },
    async stop(id) {
      const entry = running.get(id);
      running.delete(id);
      if (entry) await new Promise((resolve) => entry.server.close(resolve));
    },
    async close() {
      await Promise.all([...running.keys()].map((id) => this.stop(id)));
    },
  };
}
