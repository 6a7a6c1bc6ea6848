// The web pool's JSON API (admin token), on the real app with a web pool of in-memory workers:
// the list, resizes and stopping one chosen worker, all within EMC_MIN/MAX_WORKERS, with clear
// errors for everything else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInProcessProvider } from '../src/scaling/inprocess-provider.js';
import { buildTestApp } from './helpers/app.js';
import { fakeMembers } from './helpers/fake-members.js';

const TOKEN = 'i16core-token';
const auth = { authorization: `Bearer ${TOKEN}` };

async function webPoolApp(t: Parameters<typeof buildTestApp>[0]) {
  const workers = fakeMembers('manager');
  const { app } = await buildTestApp(t, {
    env: { EMC_ADMIN_TOKEN: TOKEN, EMC_PROVIDER: 'process', EMC_WEB_POOL: 'cluster', EMC_MIN_WORKERS: '1', EMC_MAX_WORKERS: '3', EMC_RESIZE_WAIT_S: '5' },
    listener: 'manager',
    overrides: () => ({ provider: createInProcessProvider(), workerProvider: workers }),
  });
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
    const body = response.json() as Record<string, unknown> & { message?: string; error?: { message: string } };
    // Failures carry their message in `error` (the API's failure shape), successes at the top.
    return { status: response.statusCode, body, message: body.error?.message ?? body.message ?? '' };
  };
  return { app, workers, call };
}

test('GET /api/workers lists the workers with their state and health; resize and stop act on the web pool only', async (t) => {
  const { app, workers, call } = await webPoolApp(t);
  const listed = await call('GET', '/api/workers');
  assert.equal(listed.status, 200);
  assert.equal(listed.body.desired, 1, 'the web pool starts at its minimum');
  assert.deepEqual(
    (listed.body.workers as { id: string; state: string; healthy: boolean }[]).map(({ id, state, healthy }) => ({ id, state, healthy })),
    [{ id: 'worker-1', state: 'active', healthy: true }],
  );

  assert.equal((await call('POST', '/api/workers/resize', { to: 3 })).status, 200);
  assert.deepEqual([...workers.running.keys()].sort(), ['worker-1', 'worker-2', 'worker-3']);
  const step = await call('POST', '/api/workers/resize', { by: -1 });
  assert.equal(step.status, 200);
  assert.match(step.message, /the web pool went from 3 workers to 2 workers/);
  assert.deepEqual([...workers.running.keys()].sort(), ['worker-1', 'worker-2'], 'the newest worker left');

  const stopped = await call('POST', '/api/workers/worker-1/stop');
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  assert.deepEqual([...workers.running.keys()], ['worker-2'], 'the chosen worker left');
  assert.equal(await app.services.requests.actual(), 1, 'the cache pool is untouched');

  const refused: [string, object | undefined, number, RegExp][] = [
    ['/api/workers/resize', { to: 4 }, 400, /cannot grow above its maximum of 3 workers/],
    ['/api/workers/resize', { by: -1 }, 400, /cannot shrink below its minimum of 1 worker/],
    ['/api/workers/resize', { by: 2 }, 400, /by/],
    ['/api/workers/resize', { to: 'two' }, 400, /to/],
    ['/api/workers/resize', {}, 400, /body/],
    ['/api/workers/worker-2/stop', undefined, 400, /below its minimum/],
    ['/api/workers/worker-9/stop', undefined, 404, /has no active worker worker-9/],
    ['/api/workers/node-1/stop', undefined, 404, /has no active worker node-1/],
  ];
  for (const [url, payload, status, message] of refused) {
    const answer = await call('POST', url, payload);
    assert.equal(answer.status, status, `${url} ${JSON.stringify(payload)}: ${JSON.stringify(answer.body)}`);
    assert.match(answer.message, message);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/api/workers' })).statusCode, 401, 'the admin token is required');

  await app.services.db.workerPolicy.upsert({ where: { id: 1 }, create: { id: 1, mode: 'auto' }, update: { mode: 'auto' } });
  const auto = await call('POST', '/api/workers/resize', { to: 2 });
  assert.equal(auto.status, 409);
  assert.match(auto.message, /automatic mode/);
});

test('without a web pool the workers API says so', async (t) => {
  const { app } = await buildTestApp(t, { env: { EMC_ADMIN_TOKEN: TOKEN }, listener: 'manager' });
  for (const [method, url] of [['GET', '/api/workers'], ['POST', '/api/workers/resize'], ['POST', '/api/workers/worker-1/stop']] as const) {
    const response = await app.inject({ method, url, headers: auth, ...(method === 'POST' && url.endsWith('resize') ? { payload: { to: 2 } } : {}) });
    assert.equal(response.statusCode, 409, url);
    assert.match(response.json().error.message, /no web pool here: EMC_WEB_POOL=none/);
  }
});
