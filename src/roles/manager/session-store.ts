import type { SessionStore } from '@fastify/session';
import { LRUCache } from 'lru-cache';

type Session = Parameters<SessionStore['set']>[1];

/**
 * Sessions in memory, bounded in number and age, so a flood of anonymous visits
 * to the login page cannot grow the process without end.
 */
export function createSessionStore({ max = 10_000, ttlMs }: { max?: number; ttlMs: number }): SessionStore {
  const sessions = new LRUCache<string, Session>({ max, ttl: ttlMs });
  return {
    set(id, session, callback) {
      sessions.set(id, session);
      callback();
    },
    get(id, callback) {
      callback(null, sessions.get(id) ?? null);
    },
    destroy(id, callback) {
      sessions.delete(id);
      callback();
    },
  };
}
