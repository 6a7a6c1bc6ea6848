// Red-team issue 13: anonymous visitors cannot evict the admin's session (3), the login page
// cannot redirect elsewhere (4), a client behind the proxy cannot dodge the login limit or get
// a weaker cookie (5); and issue 12: sessions live in the database, shared by every manager.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from './helpers/app.js';
import { ADMIN_PASSWORD, ConsoleClient, consoleEnv, loggedIn } from './helpers/console.js';

const sessionEnv = { ...consoleEnv, EMC_SESSION_SECRET: 's'.repeat(40) };

test('anonymous visits store no session, so a flood of them cannot evict the logged-in admin', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: sessionEnv });
  const admin = await loggedIn(app);
  const floods = [];
  for (let i = 0; i < 300; i++) {
    floods.push(app.inject({ url: '/login', headers: { accept: 'text/html' } }));
    floods.push(app.inject({ url: '/dashboard', headers: { accept: 'text/html', cookie: `emc.sid=forged-${i}` } }));
    floods.push(new ConsoleClient(app).login('wrong guess'));
  }
  const answers = await Promise.all(floods);
  assert.ok(answers.every((a) => !a.cookies.some((c) => c.name === 'emc.sid' && c.value !== '')), 'no anonymous answer sets a session cookie');
  assert.equal(await app.services.db.consoleSession.count(), 1, 'only the admin has a session row');
  assert.equal((await admin.get('/dashboard')).statusCode, 200, 'the admin is still logged in');
});

test('a session is shared by every manager on the database and survives a manager restart', async (t) => {
  const first = await buildTestApp(t, { listener: 'manager', env: sessionEnv });
  const admin = await loggedIn(first.app);
  const shared = { ...sessionEnv, DATABASE_URL: first.config.database.url };
  // A second manager next to the first (a load balancer without stickiness sends the next request there).
  const second = await buildTestApp(t, { listener: 'manager', env: shared });
  const cookie = admin.cookie;
  const elsewhere = await second.app.inject({ url: '/dashboard', headers: { accept: 'text/html', cookie } });
  assert.equal(elsewhere.statusCode, 200, 'the other manager knows the session');

  await first.app.close();
  const restarted = await buildTestApp(t, { listener: 'manager', env: shared });
  assert.equal((await restarted.app.inject({ url: '/dashboard', headers: { accept: 'text/html', cookie } })).statusCode, 200, 'survives the restart');

  // Logging out on one manager ends the session on all of them.
  const token = /name="_csrf" value="([^"]+)"/.exec((await restarted.app.inject({ url: '/dashboard', headers: { cookie } })).body)![1]!;
  const out = await restarted.app.inject({
    method: 'POST',
    url: '/logout',
    payload: `_csrf=${encodeURIComponent(token)}`,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(out.statusCode, 302);
  assert.equal((await second.app.inject({ url: '/dashboard', headers: { accept: 'text/html', cookie } })).statusCode, 302);
});

test('after login the console only redirects to its own paths', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: sessionEnv });
  const admin = await loggedIn(app);
  const cases: Array<[string, string]> = [
    ['/%09/evil.example', '/'],
    ['/%0a/evil.example', '/'],
    ['%2F%2Fevil.example', '/'],
    ['/%5Cevil.example', '/'],
    ['https://evil.example/', '/'],
    ['/%E2%80%AE', '/'],
    ['/pool?x=1', '/pool?x=1'],
    ['%2Fdashboard', '/dashboard'],
  ];
  for (const [next, location] of cases) {
    const res = await admin.get(`/login?next=${next}`);
    assert.equal(res.statusCode, 302, next);
    assert.equal(res.headers.location, location, next);
  }
  // The same rule applies to the login form's own field.
  const fresh = new ConsoleClient(app);
  const res = await fresh.post('/login', { password: ADMIN_PASSWORD, next: '/\t/evil.example' }, { csrfFrom: '/login' });
  assert.equal(res.headers.location, '/');
});

test('behind a trusted proxy: the login limit keys on the address the proxy saw, and plain HTTP gets no weaker cookie', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: { ...sessionEnv, EMC_TRUST_PROXY: 'true' } });
  const https = { 'x-forwarded-proto': 'https' };
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    const page = await app.inject({ url: '/login', headers: https });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      payload: new URLSearchParams({ password: `guess-${i}`, _csrf: token }).toString(),
      // The client writes its own X-Forwarded-For; the proxy appends the address it saw.
      headers: { ...https, 'x-forwarded-for': `10.0.0.${i}, 203.0.113.7`, 'content-type': 'application/x-www-form-urlencoded', cookie: `emc.login=${token}` },
    });
    statuses.push(res.statusCode);
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);

  const loginWith = async (headers: Record<string, string>) => {
    const page = await app.inject({ url: '/login', headers });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return app.inject({
      method: 'POST',
      url: '/login',
      payload: new URLSearchParams({ password: ADMIN_PASSWORD, _csrf: token }).toString(),
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: `emc.login=${token}` },
    });
  };
  const plain = await loginWith({ 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'http' });
  assert.equal(plain.cookies.find((c) => c.name === 'emc.sid'), undefined, 'no session cookie over plain HTTP');
  const secure = await loginWith({ 'x-forwarded-for': '198.51.100.2', 'x-forwarded-proto': 'https' });
  const cookie = secure.cookies.find((c) => c.name === 'emc.sid')!;
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
});
