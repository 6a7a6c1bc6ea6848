import type { SessionStore } from '@fastify/session';
import type { Db } from '../../db/database.js';

type Session = Parameters<SessionStore['set']>[1];

/**
 * Console sessions in the database (table ConsoleSession), so every manager behind a load
 * balancer sees the same ones and a restart keeps them. Only logged-in sessions reach it
 * (saveUninitialized is off and the login form needs no session), so anonymous visits cost
 * no row and cannot evict anyone. Expired rows are swept whenever a session is written.
 */
export function createSessionStore({ db, ttlMs }: { db: Db; ttlMs: number }): SessionStore {
  const settle = (work: Promise<unknown>, callback: (err?: unknown) => void) => {
    work.then(() => callback(), callback);
  };
  return {
    set(id, session, callback) {
      const expiresAt = new Date(Date.now() + ttlMs);
      const data = JSON.stringify(session);
      settle(
        Promise.all([
          db.consoleSession.upsert({ where: { id }, create: { id, data, expiresAt }, update: { data, expiresAt } }),
          db.consoleSession.deleteMany({ where: { expiresAt: { lt: new Date() } } }),
        ]),
        callback,
      );
    },
    get(id, callback) {
      db.consoleSession.findUnique({ where: { id } }).then(
        (row) => callback(null, row && row.expiresAt > new Date() ? (JSON.parse(row.data) as Session) : null),
        (err) => callback(err, null),
      );
    },
    destroy(id, callback) {
      settle(db.consoleSession.deleteMany({ where: { id } }), callback);
    },
  };
}
