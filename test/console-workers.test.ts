import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { MinuteCharts } from '../src/roles/manager/dashboard-data.js';
import { loadWorkerPolicy } from '../src/scaling/worker-policy-store.js';
import { buildTestApp } from './helpers/app.js';
import { consoleEnv, loggedIn, type ConsoleClient } from './helpers/console.js';

const MINUTE = 60_000;

/** The manager with a local web pool; cache nodes are processes too (workers cannot reach in-process shards). */
const webPoolEnv = { ...consoleEnv, EMC_WEB_POOL: 'cluster', EMC_PROVIDER: 'process', EMC_STATS_INTERVAL_S: '3600' };

const workersApp = (t: TestContext, env: Record<string, string> = {}) =>
  buildTestApp(t, { listener: 'manager', env: { ...webPoolEnv, ...env } });

/** Posts a form the way a browser does and returns the page it is redirected to. */
async function submit(client: ConsoleClient, url: string, fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const res = await client.post(url, fields, { csrfFrom: '/workers' });
  assert.equal(res.statusCode, 302, `${url}: ${res.body}`);
  return client.get(res.headers.location as string);
}

const flash = (page: LightMyRequestResponse) => /<p class="notice (success|error) flash"[^>]*>([^<]*)<\/p>/.exec(page.body)?.slice(1, 3);
const workerIds = (page: LightMyRequestResponse) => [...page.body.matchAll(/data-worker="([^"]+)"/g)].map((m) => m[1]);
const activeWorkers = async (app: FastifyInstance) =>
  (await app.services.db.poolNode.findMany({ where: { pool: 'web', leaving: false }, orderBy: { id: 'asc' } })).map((r) => r.id);

test('without a web pool the page says so and how to turn it on; actions and details are refused', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const client = await loggedIn(app);
  const page = await client.get('/workers');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<h1>Workers<\/h1>/);
  assert.match(page.body, /The web pool is not configured\./);
  assert.match(page.body, /EMC_WEB_POOL=cluster/);
  assert.doesNotMatch(page.body, /<table/, 'not an empty table');
  assert.doesNotMatch(page.body, /\+1 worker/);

  const refused = await submit(client, '/workers/grow');
  assert.deepEqual(flash(refused), ['error', 'The web pool is not configured (EMC_WEB_POOL=none); nothing was done.']);
  assert.equal((await client.get('/workers/worker-1')).statusCode, 404);
  assert.doesNotMatch((await client.get('/dashboard')).body, /data-series="cpu"/, 'no web pool charts on the dashboard');
});
