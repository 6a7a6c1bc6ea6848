import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeyCount } from '../src/images/key-count.js';

test('the key count is one query for concurrent callers, reused for its TTL, redone after an invalidation or a failure', async () => {
  let queries = 0;
  let fail = false;
  let rows = 5;
  const count = createKeyCount(async () => {
    queries++;
    if (fail) throw new Error('database down');
    return rows;
  }, 60_000);
  assert.deepEqual(await Promise.all([count.get(), count.get(), count.get()]), [5, 5, 5]);
  assert.equal(queries, 1);
  rows = 6;
  assert.equal(await count.get(), 5, 'reused within the TTL');
  count.invalidate();
  assert.equal(await count.get(), 6, 'an upload in this process shows at once');
  count.invalidate();
  fail = true;
  await assert.rejects(count.get(), /database down/);
  fail = false;
  assert.equal(await count.get(), 6, 'a failed count is not reused');
  assert.equal(queries, 4);
});
