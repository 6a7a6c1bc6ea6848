import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReceiveBufferCollector } from '../src/roles/cache/receive-buffer-collector.js';

const MB = 1024 * 1024;

test('collects once per budget of bytes received, and once when receiving pauses', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let collections = 0;
  const collector = createReceiveBufferCollector({ collect: () => collections++, budgetBytes: 8 * MB, idleMs: 1000 });

  for (let i = 0; i < 80; i++) collector.received(100 * 1024);
  assert.equal(collections, 0, '8000 KiB: under the budget');
  collector.received(200 * 1024);
  assert.equal(collections, 1, 'the budget is reached: collected at once');
  t.mock.timers.tick(5000);
  assert.equal(collections, 1, 'nothing received since: no idle collection');

  collector.received(MB);
  t.mock.timers.tick(900);
  collector.received(MB);
  t.mock.timers.tick(900);
  assert.equal(collections, 1, 'each body pushes the idle collection back');
  t.mock.timers.tick(100);
  assert.equal(collections, 2, 'a second without a body: collected');
  t.mock.timers.tick(5000);
  assert.equal(collections, 2, 'and only once');

  collector.received(0);
  t.mock.timers.tick(5000);
  assert.equal(collections, 2, 'an empty body counts for nothing');
});

test('close cancels a pending idle collection', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let collections = 0;
  const collector = createReceiveBufferCollector({ collect: () => collections++ });
  collector.received(MB);
  collector.close();
  t.mock.timers.tick(10_000);
  assert.equal(collections, 0);
});
