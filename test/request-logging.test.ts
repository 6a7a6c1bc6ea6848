// What a web host writes per request, as deployed: a manager and two web processes (`emc
// start --role …`), cache nodes as processes, on PostgreSQL. Image hits are logged at debug
// only (two info lines per hit cost more CPU than the hit); everything else keeps its line.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { postgresUrl, resetPostgres } from './helpers/database.js';
import { images } from './helpers/fixtures.js';
import { freePort, killAll, runEmc, survivors, waitForHealth, type EmcProcess } from './helpers/process.js';

type LogLine = { level: number; msg: string; req?: { url: string }; res?: { statusCode: number }; reqId?: string };
const INFO = 30;
const DEBUG = 20;

/** The log lines of one process, each request's `incoming request` line joined to its later lines by reqId. */
function requestLines(output: string): Array<{ url: string; status: number | undefined; levels: number[] }> {
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
  const byId = new Map<string, { url: string; status: number | undefined; levels: number[] }>();
  for (const line of lines) {
    if (!line.reqId) continue;
    const entry = byId.get(line.reqId) ?? { url: line.req?.url ?? '', status: undefined, levels: [] };
    if (line.req?.url) entry.url = line.req.url;
    if (line.msg === 'request completed') entry.status = line.res?.statusCode;
    entry.levels.push(line.level);
    byId.set(line.reqId, entry);
  }
  return [...byId.values()];
}

test('a web host logs image hits at debug only; uploads, misses and other calls keep their info lines', { timeout: 180_000 }, async (t) => {
  await resetPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-request-logs-'));
  const shared = { DATABASE_URL: postgresUrl, EMC_DATA_DIR: dataDir, EMC_PROVIDER: 'process', EMC_MIN_NODES: '1' };
  const procs: EmcProcess[] = [];
  const sql = new pg.Client({ connectionString: postgresUrl });
  await sql.connect();
  t.after(async () => {
    const nodes = (await sql.query<{ instanceId: string }>(`SELECT "instanceId" FROM "PoolNode"`)).rows.map((r) => Number(r.instanceId.replace('pid:', '')));
    await sql.end();
    killAll(procs.map((p) => p.child.pid!));
    killAll(nodes);
    assert.deepEqual(await survivors([...nodes, ...procs.map((p) => p.child.pid!)]), [], 'nothing left running');
    await rm(dataDir, { recursive: true, force: true });
  });
  const start = async (role: 'manager' | 'web', level: string) => {
    const port = await freePort();
    const portVariable = role === 'manager' ? 'EMC_MANAGER_PORT' : 'EMC_WEB_PORT';
    const proc = runEmc(['start', '--role', role], { ...shared, EMC_LOG_LEVEL: level, [portVariable]: String(port), EMC_ADMIN_PASSWORD: 'a long enough password' });
    procs.push(proc);
    await waitForHealth(`http://127.0.0.1:${port}/health`, 60_000);
    return { proc, origin: `http://127.0.0.1:${port}` };
  };
  await start('manager', 'warn');
  const [info, debug] = [await start('web', 'info'), await start('web', 'debug')];

  const form = new FormData();
  form.set('key', 'logged/hit');
  form.set('file', new Blob([images.png], { type: 'image/png' }), 'x.png');
  assert.equal((await fetch(`${info.origin}/api/upload`, { method: 'POST', body: form })).status, 200);
  for (const { origin } of [info, debug]) {
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${origin}/image/logged%2Fhit`)).status, 200);
    assert.equal((await fetch(`${origin}/image/logged%2Fhit`, { headers: { 'if-none-match': 'no-such-etag' } })).status, 200);
    assert.equal((await fetch(`${origin}/image/never%2Fstored`)).status, 404);
  }
  // Log lines are written synchronously, but reach this process through a pipe.
  await new Promise((resolve) => setTimeout(resolve, 300));

  const atInfo = requestLines(info.proc.output());
  const infoImageHits = atInfo.filter((r) => r.url === '/image/logged%2Fhit');
  assert.deepEqual(infoImageHits, [], 'no line at all for an image hit at info level');
  const miss = atInfo.find((r) => r.url === '/image/never%2Fstored');
  assert.deepEqual(miss && { status: miss.status, levels: miss.levels }, { status: 404, levels: [INFO, INFO] }, 'a miss keeps its lines, the request named in the last');
  const upload = atInfo.find((r) => r.url === '/api/upload');
  assert.equal(upload?.status, 200, 'the upload is logged');
  assert.ok(upload.levels.every((level) => level === INFO));

  const atDebug = requestLines(debug.proc.output());
  const debugImageHits = atDebug.filter((r) => r.url === '/image/logged%2Fhit');
  assert.equal(debugImageHits.length, 4, 'at debug level, every image hit is logged');
  for (const hit of debugImageHits) assert.deepEqual({ status: hit.status, levels: hit.levels }, { status: 200, levels: [DEBUG, DEBUG] });
});
