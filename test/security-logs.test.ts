import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { postgresUrl, resetPostgres } from './helpers/database.js';
import { images } from './helpers/fixtures.js';
import { HttpConsoleClient } from './helpers/http-console.js';
import { freePort, killAll, runEmc, waitForHealth } from './helpers/process.js';

// Every secret the process is given, each one distinctive enough to grep for.
const DB_PASSWORD = 's3cretpw';
const ADMIN_PASSWORD = 'Adm1n-pass-XJ7q2';
const WRONG_PASSWORD = 'Adm1n-pass-typo9';
const ADMIN_TOKEN = 'admin-token-Q8v4KzP1mW9x';
const WRONG_TOKEN = 'admin-token-guess-3f8a2b';
const SESSION_SECRET = 'session-secret-Lr5tY2uI8oP3aS6dF9gH1jK4';
const CACHE_TOKEN = 'cache-token-Zx3Cv6Bn9Mq2';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const AWS_SESSION = 'FwoGZXIvYXdzEXAMPLEsessionTOKEN';

test('a full run at trace level, with every secret set, writes none of them to its output', { timeout: 180_000 }, async (t) => {
  await resetPostgres();
  const databaseUrl = new URL(postgresUrl);
  databaseUrl.password = DB_PASSWORD;
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-secrets-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const [webPort, managerPort] = [await freePort(), await freePort()];
  const emc = runEmc(['start', '--role', 'all'], {
    EMC_DATA_DIR: dataDir,
    EMC_WEB_PORT: String(webPort),
    EMC_MANAGER_PORT: String(managerPort),
    EMC_LOG_LEVEL: 'trace',
    EMC_STATS_INTERVAL_S: '0.5',
    // Real cache processes: the secrets also travel to children, whose logs join ours.
    EMC_PROVIDER: 'process',
    DATABASE_URL: databaseUrl.href,
    EMC_ADMIN_PASSWORD: ADMIN_PASSWORD,
    EMC_ADMIN_TOKEN: ADMIN_TOKEN,
    EMC_SESSION_SECRET: SESSION_SECRET,
    EMC_CACHE_TOKEN: CACHE_TOKEN,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_SESSION_TOKEN: AWS_SESSION,
    AWS_REGION: 'us-east-1',
  });
  let pids: number[] = [];
  t.after(() => {
    emc.child.kill('SIGKILL');
    killAll(pids);
  });
  const web = `http://127.0.0.1:${webPort}`;
  const manager = `http://127.0.0.1:${managerPort}`;
  await waitForHealth(`${web}/health`, 60_000);
  await waitForHealth(`${manager}/health`, 60_000);
  const secrets: string[] = [];

  // Upload, look up (API, page and image bytes, twice: a miss then a hit on a cache process).
  const form = new FormData();
  form.set('key', 'secret/flow');
  form.set('file', new Blob([images.png], { type: 'image/png' }), 'x.png');
  assert.equal((await fetch(`${web}/api/upload`, { method: 'POST', body: form })).status, 200);
  assert.equal((await fetch(`${web}/api/key/secret%2Fflow`, { method: 'POST' })).status, 200);
  assert.equal((await fetch(`${web}/lookup?key=secret%2Fflow`)).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await fetch(`${web}/image/secret%2Fflow`)).status, 200);

  // The console: a failed login, then the right password, then a page and a form.
  const browser = new HttpConsoleClient(manager);
  assert.equal((await browser.login(WRONG_PASSWORD)).status, 401);
  const loggedIn = await browser.login(ADMIN_PASSWORD);
  assert.equal(loggedIn.status, 302);
  const session = browser.cookies.get('emc.sid');
  assert.ok(session, 'a session cookie');
  secrets.push(decodeURIComponent(session));
  assert.equal((await browser.get('/dashboard')).status, 200);
  assert.equal((await browser.post('/cache', { cacheSize: '3', policy: 'LRU' }, { csrfFrom: '/cache' })).status, 302);

  // Management calls: refused without the token and with a wrong one, done with it.
  const configure = `${manager}/api/configure_cache?numNodes=2&cacheSize=2&policy=RR`;
  assert.equal((await fetch(configure, { method: 'POST' })).status, 401);
  assert.equal((await fetch(configure, { method: 'POST', headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status, 401);
  const configured = await fetch(configure, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(configured.status, 200, await configured.clone().text());
  assert.equal(((await configured.json()) as { numNodes: number }).numNodes, 2);
  assert.equal((await fetch(`${web}/image/secret%2Fflow`)).status, 200);
  // An upload carrying credentials: the multipart parser logs the request headers at trace level.
  const again = new FormData();
  again.set('key', 'secret/again');
  again.set('file', new Blob([images.gif], { type: 'image/gif' }), 'x.gif');
  const credentials = { authorization: `Bearer ${ADMIN_TOKEN}`, cookie: `emc.sid=${session}` };
  assert.equal((await fetch(`${manager}/api/upload`, { method: 'POST', body: again, headers: credentials })).status, 200);

  // A caller on the nodes' network without the cache token.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  const nodes = (await client.query<{ address: string; instanceId: string }>('SELECT address, "instanceId" FROM "PoolNode"')).rows;
  await client.end();
  pids = nodes.map((n) => Number(n.instanceId.replace('pid:', '')));
  assert.equal(nodes.length, 2);
  for (const { address } of nodes) {
    assert.equal((await fetch(`${address}/stats`)).status, 401);
    assert.equal((await fetch(`${address}/stats`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status, 401);
  }

  const deleted = await fetch(`${web}/api/delete_all`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(deleted.status, 200);
  await new Promise((r) => setTimeout(r, 700)); // a statistics report from every node

  emc.child.kill('SIGTERM');
  assert.equal(await emc.exited, 0);
  const output = emc.output();
  const lines = output.split('\n');
  assert.ok(lines.filter((l) => l.startsWith('{')).length > 50, 'trace logging produced a log to search');
  assert.ok(/"role":"cache"/.test(output), 'the cache processes logged too');
  assert.ok(/console login failed/.test(output) && /"msg":"console login"/.test(output), 'the logins were logged');
  assert.ok(/request rejected/.test(output), 'the refused calls were logged');
  assert.match(output, /"busboyOptions":\{"headers":\{[^}]*"authorization":"\[redacted\]"/, 'logged headers are redacted');

  secrets.push(DB_PASSWORD, ADMIN_PASSWORD, WRONG_PASSWORD, ADMIN_TOKEN, WRONG_TOKEN, SESSION_SECRET, CACHE_TOKEN, AWS_SECRET, AWS_SESSION);
  for (const secret of secrets) {
    const line = lines.find((l) => l.includes(secret));
    assert.equal(line, undefined, `a secret (${secret.slice(0, 4)}…) appears in the output: ${line?.slice(0, 300)}`);
  }
  // No credential-bearing header value either, whatever its content.
  assert.doesNotMatch(output, /"(authorization|cookie|set-cookie)":\s*"(?!\[redacted\])/i);
  assert.doesNotMatch(output, /Bearer [^<\s"]/);
  assert.doesNotMatch(output, /emc\.sid=/);
  assert.doesNotMatch(output, /postgres(ql)?:\/\/[^/\s"]*:[^@/\s"]+@/, 'no database URL with a password');
});
