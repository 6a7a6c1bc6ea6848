import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../src/http/app-error.js';
import { createWorkGate } from '../src/http/work-gate.js';

test('the work gate runs one at a time, queues a bounded number, and refuses past that with a 503', async () => {
  const gate = createWorkGate({ concurrency: 1, queue: 2, busy: 'busy' });
  let running = 0;
  let most = 0;
  const releases: Array<() => void> = [];
  const job = () =>
    gate(async () => {
      most = Math.max(most, ++running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      return 'done';
    });
  const first = job();
  const queued = [job(), job()];
  await assert.rejects(job(), (err: AppError) => err.statusCode === 503 && err.message === 'busy');
  for (let finished = 0; finished < 3; ) {
    await new Promise((resolve) => setImmediate(resolve));
    const release = releases.shift();
    if (release) {
      release();
      finished++;
    }
  }
  assert.deepEqual(await Promise.all([first, ...queued]), ['done', 'done', 'done']);
  assert.equal(most, 1);
  assert.equal(await gate(async () => 'again'), 'again', 'the queue drained');
});
