import type { ProvidedMember } from '../../src/scaling/member-provider.js';
import type { WorkerProvider } from '../../src/scaling/worker-provider.js';

/**
 * Members that live only in this test process, owned by one manager: another manager's are
 * dead to it (its health check fails for them), as a forked worker is to a new cluster primary.
 */
export function fakeMembers(owner: string): WorkerProvider & { running: Map<string, ProvidedMember> } {
  const running = new Map<string, ProvidedMember>();
  return {
    kind: 'cluster',
    running,
    list: async () => [...running.values()],
    async start(id) {
      const member = { id, instanceId: `${owner}:${id}`, address: `http://127.0.0.1:1/${owner}/${id}` };
      running.set(id, member);
      return member;
    },
    async stop(id) {
      running.delete(id);
    },
    health: async (member) => running.get(member.id)?.instanceId === member.instanceId,
    async close() {
      running.clear();
    },
  };
}
