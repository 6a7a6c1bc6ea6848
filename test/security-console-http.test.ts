// The console's login, CSRF and rate limit, tested from outside: a real socket, fetch, and a
// cookie jar kept by hand, as a browser (or an attacker's script) would.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildTestApp } from './helpers/app.js';
import { ADMIN_PASSWORD, consoleEnv } from './helpers/console.js';
import { HttpConsoleClient } from './helpers/http-console.js';

async function startManager(t: TestContext): Promise<string> {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

test('over HTTP: wrong passwords are refused, and the sixth attempt in a minute is rate-limited, the right password too', async (t) => {
  const origin = await startManager(t);
  const client = new HttpConsoleClient(origin);
  const page = await client.get('/login');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.match(page.body, /name="_csrf" value="[^"]+"/);

  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const wrong = await client.login(`guess-${i}`);
    statuses.push(wrong.status);
    assert.match(wrong.body, /Wrong password/);
    assert.equal(client.cookies.has('emc.sid'), false, 'a failed login starts no session');
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
  assert.equal((await client.get('/dashboard')).status, 302, 'still not logged in');

  const limited = await client.login(`guess-5`);
  assert.equal(limited.status, 429);
  assert.match(limited.body, /too many login attempts/);
  assert.ok(Number(limited.headers.get('retry-after')) > 0, 'says when to come back');
  const right = await client.login(ADMIN_PASSWORD);
  assert.equal(right.status, 429, 'even the right password waits out the limit');
  assert.equal((await client.get('/dashboard')).status, 302);

  // The limit is per client address, not per session: a fresh cookie jar changes nothing.
  const other = new HttpConsoleClient(origin);
  assert.equal((await other.login(ADMIN_PASSWORD)).status, 429);
});

test('over HTTP: the right password gives a fresh HttpOnly SameSite=Strict session; forms without their CSRF token are refused', async (t) => {
  const origin = await startManager(t);
  const client = new HttpConsoleClient(origin);

  const anonymous = await client.get('/dashboard');
  assert.equal(anonymous.status, 302);
  assert.equal(anonymous.headers.get('location'), '/login?next=%2Fdashboard');
  assert.equal((await fetch(`${origin}/dashboard`)).status, 401, 'a script without a session gets a 401');

  // A login form posted without its token (a cross-site form) is refused before the password is looked at.
  assert.equal((await client.post('/login', { password: ADMIN_PASSWORD }, { csrfFrom: null })).status, 403);
  // A token from another session does not do either.
  const stranger = new HttpConsoleClient(origin);
  const strangersToken = await stranger.csrf('/login');
  assert.equal((await client.post('/login', { password: ADMIN_PASSWORD, _csrf: strangersToken }, { csrfFrom: null })).status, 403);

  await client.get('/login');
  assert.equal(client.cookies.has('emc.sid'), false, 'the login page starts no session (its CSRF token is a cookie of its own)');
  const before = 'planted-session-id';
  client.cookies.set('emc.sid', before);
  const ok = await client.login(ADMIN_PASSWORD);
  assert.equal(ok.status, 302);
  assert.equal(ok.headers.get('location'), '/');
  const cookie = ok.setCookies.find((c) => c.startsWith('emc.sid='));
  assert.ok(cookie, 'the login sets the session cookie');
  const attributes = cookie.split(';').map((a) => a.trim().toLowerCase());
  assert.ok(attributes.includes('httponly'), cookie);
  assert.ok(attributes.includes('samesite=strict'), cookie);
  assert.ok(attributes.includes('path=/'), cookie);
  assert.ok(!attributes.includes('secure'), 'plain HTTP without a trusted proxy: no Secure flag, which the browser would drop');
  assert.notEqual(client.cookies.get('emc.sid'), before, 'a new session id at login');

  // The id planted before the login is worth nothing.
  const planted = new HttpConsoleClient(origin);
  planted.cookies.set('emc.sid', before);
  assert.equal((await planted.get('/dashboard')).status, 302);

  const dashboard = await client.get('/dashboard');
  assert.equal(dashboard.status, 200);
  assert.match(dashboard.headers.get('content-security-policy') ?? '', /script-src 'self'/);

  // A state-changing form without its token (what a cross-site page could send) changes nothing.
  const forged = await client.post('/cache', { cacheSize: '7', policy: 'RR' }, { csrfFrom: null });
  assert.equal(forged.status, 403);
  assert.doesNotMatch((await client.get('/cache')).body, /value="7"/);
  const bogus = await client.post('/cache', { cacheSize: '7', policy: 'RR', _csrf: 'not-a-token' }, { csrfFrom: null });
  assert.equal(bogus.status, 403);

  const applied = await client.post('/cache', { cacheSize: '7', policy: 'RR' }, { csrfFrom: '/cache' });
  assert.equal(applied.status, 302);
  assert.equal(applied.headers.get('location'), '/cache');
  const cachePage = await client.get('/cache');
  assert.match(cachePage.body, /value="7"/);

  // Logging out needs the token too, and ends the session for good.
  assert.equal((await client.post('/logout', {}, { csrfFrom: null })).status, 403);
  assert.equal((await client.get('/dashboard')).status, 200, 'still logged in');
  const session = client.cookies.get('emc.sid')!;
  assert.equal((await client.post('/logout', {})).status, 302);
  const replay = new HttpConsoleClient(origin);
  replay.cookies.set('emc.sid', session);
  assert.equal((await replay.get('/dashboard')).status, 302, 'the old cookie no longer opens the console');
});
