import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { verifyPassword } from '../src/roles/manager/admin-password.js';
import { buildTestApp } from './helpers/app.js';
import { ADMIN_PASSWORD, ConsoleClient, consoleEnv, loggedIn } from './helpers/console.js';

const pages = ['/dashboard', '/cache', '/pool', '/danger'];

test('every console page requires login; scripts get a 401, browsers the login page', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  for (const page of pages) {
    const browser = await app.inject({ url: page, headers: { accept: 'text/html' } });
    assert.equal(browser.statusCode, 302, page);
    assert.equal(browser.headers.location, `/login?next=${encodeURIComponent(page)}`);
    const script = await app.inject({ url: page });
    assert.equal(script.statusCode, 401, page);
  }
  const root = await app.inject({ url: '/', headers: { accept: 'text/html' } });
  assert.equal(root.headers.location, '/login?next=%2F');
});

test('the right password logs in (HttpOnly, SameSite cookie; fresh session id), the wrong one does not', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const client = new ConsoleClient(app);
  const wrong = await client.login('not the password');
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /Wrong password/);
  assert.equal((await client.get('/dashboard')).statusCode, 302);

  const before = (await client.get('/login')).cookies.find((c) => c.name === 'emc.sid')?.value;
  const ok = await client.login();
  assert.equal(ok.statusCode, 302);
  assert.equal(ok.headers.location, '/');
  const cookie = ok.cookies.find((c) => c.name === 'emc.sid')!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.notEqual(cookie.value, before, 'the session id changes at login');
  assert.equal((await client.get('/dashboard')).statusCode, 200);

  const out = await client.post('/logout', {});
  assert.equal(out.statusCode, 302);
  assert.equal((await client.get('/dashboard')).statusCode, 302, 'logged out');
});

test('login is rate-limited', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const client = new ConsoleClient(app);
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await client.login(`guess-${i}`)).statusCode);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
  const limited = await client.login(ADMIN_PASSWORD);
  assert.equal(limited.statusCode, 429, 'even the right password waits out the limit');
  assert.match(limited.body, /too many login attempts/);
});

test('a form without its CSRF token is rejected', async (t) => {
  const { app } = await buildTestApp(t, { listener: 'manager', env: consoleEnv });
  const anonymous = new ConsoleClient(app);
  const noToken = await anonymous.post('/login', { password: ADMIN_PASSWORD }, { withCsrf: false });
  assert.equal(noToken.statusCode, 403);
  const client = await loggedIn(app);
  const logout = await client.post('/logout', {}, { withCsrf: false });
  assert.equal(logout.statusCode, 403);
  assert.equal((await client.get('/dashboard')).statusCode, 200, 'still logged in');
});

test('the console refuses to start without a password, except role all on loopback, which generates one', () => {
  assert.throws(() => loadConfig({ EMC_ROLE: 'manager', EMC_PROVIDER: 'process' }), /EMC_ADMIN_PASSWORD \(not set\): required for the manager console/);
  assert.throws(() => loadConfig({ EMC_ROLE: 'all', EMC_HOST: '0.0.0.0' }), /EMC_ADMIN_PASSWORD/);
  const local = loadConfig({ EMC_ROLE: 'all' });
  assert.match(local.console!.generatedPassword!, /^[\w-]{16}$/);
  assert.ok(verifyPassword(local.console!.generatedPassword!, local.console!.passwordHash), 'the generated password logs in');
  assert.ok(!verifyPassword('another-password', local.console!.passwordHash));
  const given = loadConfig({ EMC_ROLE: 'manager', EMC_PROVIDER: 'process', EMC_ADMIN_PASSWORD: ADMIN_PASSWORD });
  assert.equal(given.console!.generatedPassword, undefined);
  assert.match(given.console!.passwordHash, /^scrypt\$32768\$/, 'a chosen password gets the full cost');
  assert.ok(!JSON.stringify(given).includes(ADMIN_PASSWORD), 'the password itself is not kept');
  assert.throws(() => loadConfig({ EMC_ROLE: 'manager', EMC_PROVIDER: 'process', EMC_ADMIN_PASSWORD: 'short' }), /at least 8 characters/);
  assert.equal(loadConfig({ EMC_ROLE: 'web', EMC_PROVIDER: 'process' }).console, undefined);
});
