import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRetryable, withRetry } from '../src/scaling/ec2-retry.js';
import { awsError } from './helpers/fake-ec2.js';

function failing(errors: unknown[]) {
  let calls = 0;
  const operation = async () => {
    calls += 1;
    const error = errors.shift();
    if (error) throw error;
    return 'done';
  };
  return { operation, calls: () => calls };
}

test('throttling, server faults and dropped connections are retryable; the rest is not', () => {
  for (const name of ['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'InternalError', 'ServiceUnavailable']) {
    assert.equal(isRetryable(awsError(name)), true, name);
  }
  assert.equal(isRetryable(awsError('SomethingNew', 502)), true, 'any 5xx');
  assert.equal(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), true);
  assert.equal(isRetryable(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) })), true);
  for (const name of ['InvalidInstanceID.NotFound', 'UnauthorizedOperation', 'IncorrectInstanceState', 'InvalidParameterValue']) {
    assert.equal(isRetryable(awsError(name)), false, name);
  }
  assert.equal(isRetryable(new Error('a bug')), false);
  assert.equal(isRetryable(undefined), false);
});

test('waits grow exponentially up to the cap, each a random fraction of it', async () => {
  for (let run = 0; run < 50; run++) {
    const sleeps: number[] = [];
    const { operation } = failing(Array.from({ length: 6 }, () => awsError('Throttling')));
    const result = await withRetry(operation, { attempts: 7, baseMs: 100, maxMs: 1000, sleep: async (ms) => void sleeps.push(ms) });
    assert.equal(result, 'done');
    const caps = [100, 200, 400, 800, 1000, 1000];
    assert.equal(sleeps.length, 6);
    sleeps.forEach((ms, i) => assert.ok(ms >= 0 && ms < caps[i]!, `wait ${i} was ${ms}, cap ${caps[i]}`));
  }
  const sleeps: number[] = [];
  const { operation } = failing([awsError('Throttling'), awsError('Throttling'), awsError('Throttling')]);
  await withRetry(operation, { random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) });
  assert.deepEqual(sleeps, [100, 200, 400], 'defaults: base 200 ms, doubling');
});

test('a non-retryable error fails at once; retries stop after the last attempt', async () => {
  const sleeps: number[] = [];
  const sleep = async (ms: number) => void sleeps.push(ms);
  const notFound = failing([awsError('InvalidInstanceID.NotFound')]);
  await assert.rejects(withRetry(notFound.operation, { sleep }), { name: 'InvalidInstanceID.NotFound' });
  assert.equal(notFound.calls(), 1);
  assert.deepEqual(sleeps, []);

  const throttled = failing(Array.from({ length: 9 }, () => awsError('RequestLimitExceeded', 503)));
  await assert.rejects(withRetry(throttled.operation, { attempts: 3, sleep }), { name: 'RequestLimitExceeded' });
  assert.equal(throttled.calls(), 3);
  assert.equal(sleeps.length, 2);
});

test('an aborted signal stops retrying', async () => {
  const abort = new AbortController();
  const { operation, calls } = failing([awsError('Throttling'), awsError('Throttling')]);
  const waiting = withRetry(operation, { baseMs: 10_000, maxMs: 10_000, random: () => 0.99, signal: abort.signal });
  setImmediate(() => abort.abort());
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.equal(calls(), 1);
});
