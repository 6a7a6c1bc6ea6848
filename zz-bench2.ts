import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Pool } from 'undici';
import { createHttpCacheNode } from './src/pool/http-cache-node.js';
import { createHttpCacheNode as noSignal } from './src/pool/zz-nosignal.js';
const child = spawn(process.execPath, ['--import', 'tsx', 'zz-server.ts'], { stdio: ['ignore', 'pipe', 'ignore'] });
const [line] = await once(child.stdout!, 'data');
const base = `http://127.0.0.1:${String(line).trim()}`;
const variants: Record<string, (k: string) => Promise<unknown>> = {};
const node = createHttpCacheNode({ id: 'n', baseUrl: base }); variants.signal = (k) => node.get(k);
const node2 = noSignal({ id: 'n', baseUrl: base }); variants.nosignal = (k) => node2.get(k);
const raw = new Pool(base, { connections: 64 });
variants.raw = async (k: string) => { const r = await raw.request({ method: 'GET', path: '/cache/' + k }); return Buffer.from(await r.body.arrayBuffer()); };
const results: Record<string, number[]> = {};
async function run(name: string, fn: (k: string) => Promise<unknown>) {
  const N = 30000, C = 32; let i = 0; const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: C }, async () => { while (i < N) { await fn(`img-${i++ % 100}`); } }));
  const cpu = process.cpuUsage(c0);
  (results[name] ??= []).push((cpu.user + cpu.system) / N);
}
for (let r = 0; r < 7; r++) for (const [name, fn] of Object.entries(variants)) await run(name, fn);
for (const [name, xs] of Object.entries(results)) { xs.sort((a, b) => a - b); console.log(name, 'median µs cpu/get', xs[3]!.toFixed(1), xs.map((x) => x.toFixed(0)).join(' ')); }
await node.close(); await node2.close(); await raw.close(); child.kill();
