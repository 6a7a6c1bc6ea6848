import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLeaderLease, FencedError } from '../src/scaling/leader-lease.js';
import { commitMembership, readMembers } from '../src/scaling/pool-membership.js';
import { buildTestApp, databases } from './helpers/app.js';

const node = (id: string) => ({ id, instanceId: null, address: `http://127.0.0.1:1/${id}` });

for (const database of databases) {
  describe(`leader lease (${database})`, () => {
    test('one holder at a time; a lapsed lease goes to the next with a new generation, and the deposed leader’s late write is refused', async (t) => {
      // The app is only the database here: role all leads, so it hands its lease back first.
      const { app } = await buildTestApp(t, { database });
      const { db } = app.services;
      await app.services.leader!.close();
      // One clock for both, moved by hand: a busy machine's pauses cannot lapse a lease early.
      let clock = Date.now();
      const now = () => new Date(clock);
      const a = createLeaderLease({ db, holder: 'manager-a', ttlMs: 300, now });
      const b = createLeaderLease({ db, holder: 'manager-b', ttlMs: 300, now });
      const first = await a.refresh();
      assert.ok(first);
      assert.equal(await b.refresh(), undefined, 'b cannot take a live lease');
      await commitMembership(db, first, 'cache', [node('node-a')], []);

      clock += 400; // a stops renewing (a long pause, a partition)
      const second = await b.refresh();
      assert.ok(second && second.generation > first.generation, 'b leads under a newer generation');
      await commitMembership(db, second, 'cache', [node('node-b')], []);

      // a wakes up and writes what it was doing: refused, and nothing of it is recorded.
      await assert.rejects(commitMembership(db, first, 'cache', [node('node-late')], ['node-b']), FencedError);
      assert.deepEqual((await readMembers(db, 'cache')).map((m) => m.id).sort(), ['node-1', 'node-a', 'node-b'], "node-1 is the app's own");
      assert.equal(await a.refresh(), undefined, 'and a cannot renew what it lost');
      assert.ok(await b.refresh(), 'while b renews');
    });
  });
}
