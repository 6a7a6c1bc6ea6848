import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRevalidationBatches } from '../src/pool/revalidation-batches.js';

/** A revalidation that answers when the test says so, recording how many look-ups it stood for. */
function controlled() {
  const sent: { lookups: number; answer(value: string): void; fail(error: Error): void }[] = [];
  const send = (lookups: number) =>
    new Promise<string>((answer, fail) => {
      sent.push({ lookups, answer, fail });
    });
  return { sent, send };
}

test('a look-up arriving while a revalidation is in flight waits for the next one, sent after it arrived', async () => {
  const revalidate = createRevalidationBatches();
  const { sent, send } = controlled();
  const first = revalidate('node\n"v1"\ncat', send);
  assert.deepEqual(sent.map((s) => s.lookups), [1], 'the first look-up is sent at once');
  const later = [revalidate('node\n"v1"\ncat', send), revalidate('node\n"v1"\ncat', send), revalidate('node\n"v1"\ncat', send)];
  assert.equal(sent.length, 1, 'nothing more is sent while one is in flight');
  // An invalidation lands on the node now: the first answer predates it, the later look-ups must not get it.
  sent[0]!.answer('current');
  assert.equal(await first, 'current');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.map((s) => s.lookups), [1, 3], 'the three waiting look-ups share the next revalidation');
  sent[1]!.answer('miss');
  assert.deepEqual(await Promise.all(later), ['miss', 'miss', 'miss']);
});

test('other keys, nodes and versions never share; a failure reaches every look-up of its batch and the next batch still runs', async () => {
  const revalidate = createRevalidationBatches();
  const { sent, send } = controlled();
  const a = revalidate('node-1\n"v1"\ncat', send);
  const b = revalidate('node-1\n"v2"\ncat', send);
  const c = revalidate('node-2\n"v1"\ncat', send);
  assert.equal(sent.length, 3);
  const waiting = [revalidate('node-1\n"v1"\ncat', send), revalidate('node-1\n"v1"\ncat', send)];
  sent[0]!.fail(new Error('node down'));
  await assert.rejects(a, /node down/);
  await new Promise((r) => setImmediate(r));
  assert.equal(sent[3]!.lookups, 2);
  sent[3]!.fail(new Error('still down'));
  for (const w of waiting) await assert.rejects(w, /still down/);
  sent[1]!.answer('b');
  sent[2]!.answer('c');
  assert.deepEqual([await b, await c], ['b', 'c']);
  // All settled: a new look-up starts a fresh revalidation at once.
  const again = revalidate('node-1\n"v1"\ncat', send);
  assert.equal(sent.length, 5);
  sent[4]!.answer('fresh');
  assert.equal(await again, 'fresh');
});
