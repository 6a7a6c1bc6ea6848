import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { DashboardData } from '../src/roles/manager/dashboard-data.js';
import { buildTestApp } from './helpers/app.js';
import { consoleEnv, loggedIn } from './helpers/console.js';

const MINUTE = 60_000;

// A stats interval of an hour keeps the publisher from adding samples of its own mid-test.
async function dashboardApp(t: TestContext) {
  const { app } = await buildTestApp(t, { listener: 'manager', env: { ...consoleEnv, EMC_STATS_INTERVAL_S: '3600' } });
  return { app, client: await loggedIn(app) };
}

function row(nodeId: string, at: Date, counts: { lookups: number; hits: number; misses: number; requests: number; items: number; bytes: number }) {
  return { nodeId, at, puts: 0, evictions: 0, rejected: 0, ...counts, bytes: BigInt(counts.bytes) };
}

test('the dashboard page has six charts and loads its scripts from files only', async (t) => {
  const { client } = await dashboardApp(t);
  const res = await client.get('/dashboard');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /text\/html/);
  const series = [...res.body.matchAll(/<canvas data-series="(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(series, ['nodes', 'missRate', 'hitRate', 'items', 'bytes', 'requests']);
  assert.match(res.body, /<script src="\/vendor\/chartjs\/chart\.umd\.js"[^>]*><\/script>/);
  assert.match(res.body, /<script src="\/static\/js\/minute-charts\.js"[^>]*><\/script>/);
  assert.match(res.body, /data-source="\/dashboard\/data\.json"/);
  assert.doesNotMatch(res.body, /Web pool/, 'no web pool, no web pool charts');
  const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 2);
  for (const [, attributes, content] of scripts) {
    assert.match(attributes!, /\bsrc="/);
    assert.equal(content!.trim(), '', 'no inline script');
  }
  assert.match(res.body, /id="current-nodes">1</, 'the pool starts at its minimum of one node');
  assert.match(res.headers['content-security-policy'] as string, /script-src 'self'/);
});

test('the data needs a login', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const res = await app.inject({ url: '/dashboard/data.json' });
  assert.equal(res.statusCode, 401);
  assert.equal((await app.inject({ url: '/vendor/chartjs/chart.umd.js' })).statusCode, 401);
});

test('the data has 30 one-minute points ending now, count-weighted rates, and nulls for gaps', async (t) => {
  const { app, client } = await dashboardApp(t);
  const now = Date.now();
  const tenAgo = new Date(now - 10 * MINUTE);
  const threeAgo = new Date(now - 3 * MINUTE);
  await app.services.db.metricSample.createMany({
    data: [
      row('a', tenAgo, { lookups: 10, hits: 9, misses: 1, requests: 12, items: 5, bytes: 1000 }),
      row('b', tenAgo, { lookups: 90, hits: 81, misses: 9, requests: 95, items: 7, bytes: 3000 }),
      row('a', threeAgo, { lookups: 4, hits: 1, misses: 3, requests: 4, items: 6, bytes: 2_097_152 }),
    ],
  });

  const res = await client.get('/dashboard/data.json');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /application\/json/);
  assert.equal(res.headers['cache-control'], 'no-store');
  const data = res.json<DashboardData>();

  assert.equal(data.minutes.length, 30);
  assert.equal(data.labels.length, 30);
  const starts = data.minutes.map((iso) => Date.parse(iso));
  starts.forEach((start, i) => {
    assert.equal(start % MINUTE, 0, 'points start on the minute');
    if (i > 0) assert.equal(start - starts[i - 1]!, MINUTE, 'consecutive minutes');
  });
  const generatedAt = Date.parse(data.generatedAt);
  assert.equal(starts.at(-1), Math.floor(generatedAt / MINUTE) * MINUTE, 'the last point is the current minute');
  data.labels.forEach((label, i) => {
    assert.match(label, /^([01]\d|2[0-3]):[0-5]\d$/);
    const at = new Date(starts[i]!);
    assert.deepEqual(label.split(':').map(Number), [at.getHours(), at.getMinutes()]);
  });
  assert.equal(data.currentNodes, 1);

  // Located by timestamp, so a minute boundary passing mid-test cannot shift the expectations.
  const indexOf = (at: Date) => starts.indexOf(Math.floor(at.getTime() / MINUTE) * MINUTE);
  const ten = indexOf(tenAgo);
  const three = indexOf(threeAgo);
  assert.ok(ten >= 0 && three > ten);
  const at = (i: number) => Object.fromEntries(Object.entries(data.series).map(([name, values]) => [name, values[i]]));
  const noWorkers = { workers: null, cpu: null };
  assert.deepEqual(at(ten), { nodes: 2, missRate: 0.1, hitRate: 0.9, items: 12, bytes: 4000, requests: 107, ...noWorkers });
  assert.deepEqual(at(three), { nodes: 1, missRate: 0.75, hitRate: 0.25, items: 6, bytes: 2_097_152, requests: 4, ...noWorkers });
  for (const [name, values] of Object.entries(data.series)) {
    assert.equal(values.length, 30, name);
    values.forEach((value, i) => {
      if (i !== ten && i !== three) assert.equal(value, null, `${name} at ${data.labels[i]} is a gap`);
    });
  }
});

test('Chart.js is served from our own origin, and nothing else from its folder', async (t) => {
  const { client } = await dashboardApp(t);
  const res = await client.get('/vendor/chartjs/chart.umd.js');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^(application|text)\/javascript/);
  assert.match(res.body, /window\.Chart/);
  assert.equal((await client.get('/vendor/chartjs/chart.cjs')).statusCode, 404);
  assert.equal((await client.get('/vendor/chartjs/../package.json')).statusCode, 404);

  const script = await client.get('/static/js/minute-charts.js');
  assert.equal(script.statusCode, 200);
  assert.match(script.headers['content-type'] as string, /javascript/);
});
