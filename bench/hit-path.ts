// (a) The hit path: GET /image/<key> of a 100 KB image at 50 connections, wrk in its own
// process, every server in its own. Side by side in one run: nginx from a file (the physical
// anchor), bare node:http, bare Fastify (the ratio base), a bare Node two-hop proxy, and the
// web role with in-process shards, with cache-node processes over HTTP, and with those plus
// its near cache. Besides req/s and latency: the web process's CPU per 1,000 hits (what sizes
// the web tier) and the bytes crossing the hop to the cache nodes per hit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchImage } from './bench-image.js';
import { freePort, startProcess, startServer, stopAll, type Server } from './bench-processes.js';
import { atLeast, atMost, fixed, median } from './bench-stats.js';
import type { Bench, BenchOptions, BenchOutcome } from './bench-types.js';
import { childrenOf, cpuSeconds, ioBytes } from './proc-stat.js';
import { NGINX, nginxArgs, nginxMissing } from './servers/nginx.js';
import { startAllRole, upload } from './web-server.js';
import { CONNECTIONS, load } from './wrk.js';

const TARGETS = { inProcess: 0.9, httpOverTwoHop: 1.0, httpCpuOverInProcess: 1.5, nearCache: 0.5, nearCacheHopBytes: 1024 };
const CACHE_NODES = 2;

/** A server under load; `hop` lists the processes on the far side of its network hop. */
type Target = { id: string; name: string; url: string; server: Server; hop?: () => Promise<number[]> };

type Sample = { rps: number; p50Ms: number; p99Ms: number; cpuMsPer1k: number; hopCpuMsPer1k: number; hopBytesPerHit: number; errors: number };
export type HitPathResult = {
  id: string;
  target: string;
  samples: Sample[];
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPer1k: number;
  hopCpuMsPer1k: number;
  hopBytesPerHit: number;
  errors: number;
};

async function startTargets(dir: string): Promise<Target[]> {
  const targets: Target[] = [];
  const skipNginx = nginxMissing();
  if (skipNginx) console.warn(`  (a) ${skipNginx}`);
  else {
    const p = await freePort();
    const server = await startProcess('nginx', NGINX, await nginxArgs(join(dir, 'nginx'), p), {}, `http://127.0.0.1:${p}/image/bench`);
    targets.push({ id: 'nginx', name: 'nginx, static file, sendfile, 1 worker', url: `http://127.0.0.1:${p}/image/bench`, server });
  }
  const bare = async (id: string, name: string, script: string, extra: string[] = [], hop?: Target['hop']) => {
    const p = await freePort();
    const origin = `http://127.0.0.1:${p}`;
    const server = await startServer(id, script, [String(p), ...extra], {}, `${origin}/image/x`);
    targets.push({ id, name, url: `${origin}/image/bench`, server, hop });
    return { origin, pid: server.child.pid! };
  };
  const nodeHttp = await bare('node-http', 'bare node:http, preloaded Buffer', 'bench/servers/bare-http.ts');
  await bare('fastify', 'bare Fastify, preloaded Buffer', 'bench/servers/ceiling.ts');
  await bare('two-hop', 'bare two-hop: node:http + undici → bare node:http', 'bench/servers/two-hop.ts', [nodeHttp.origin], async () => [nodeHttp.pid]);

  const product = async (id: string, name: string, env: Record<string, string>) => {
    const { server, base } = await startAllRole(id, { EMC_DATA_DIR: join(dir, id), ...env });
    await upload(base, 'bench', benchImage());
    const web = server.child.pid!;
    targets.push({ id, name, url: `${base}/image/bench`, server, hop: env.EMC_PROVIDER ? () => childrenOf(web) : undefined });
  };
  await product('in-process', 'web role, in-process shards', {});
  const remote = { EMC_PROVIDER: 'process', EMC_MIN_NODES: String(CACHE_NODES) };
  await product('http', `web role, ${CACHE_NODES} cache processes over HTTP`, { ...remote, EMC_NEAR_CACHE_MB: '0' });
  await product('near-cache', `web role, ${CACHE_NODES} cache processes, near cache`, remote);
  return targets;
}

async function measure(target: Target, durationS: number): Promise<Sample> {
  const pid = target.server.child.pid!;
  const hopPids = (await target.hop?.()) ?? [];
  const sum = async (read: (pid: number) => Promise<number>) => (await Promise.all(hopPids.map(read))).reduce((a, b) => a + b, 0);
  const [cpu0, hopCpu0, io0] = [await cpuSeconds(pid), await sum(cpuSeconds), await sum(ioBytes)];
  const r = await load({ url: target.url, durationS });
  const [cpu1, hopCpu1, io1] = [await cpuSeconds(pid), await sum(cpuSeconds), await sum(ioBytes)];
  const perHop = (x: number) => (hopPids.length ? x / r.requests : Number.NaN);
  return {
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    cpuMsPer1k: ((cpu1 - cpu0) * 1000) / (r.requests / 1000),
    hopCpuMsPer1k: perHop((hopCpu1 - hopCpu0) * 1e6),
    hopBytesPerHit: perHop(io1 - io0),
    errors: r.errors,
  };
}

export async function benchHitPath({ runs = 3, durationS = 8 }: Partial<BenchOptions> = {}): Promise<HitPathResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'emc-bench-'));
  const servers: Server[] = [];
  try {
    const targets = await startTargets(dir);
    servers.push(...targets.map((t) => t.server));
    for (const target of targets) await load({ url: target.url, durationS: 2 }); // warm up: JIT, connections, first fill
    const samples = new Map(targets.map((t) => [t.id, [] as Sample[]]));
    // Rounds interleave the targets so drift in the machine's load hits all of them alike.
    for (let round = 0; round < runs; round++) {
      for (const target of targets) samples.get(target.id)!.push(await measure(target, durationS));
    }
    return targets.map(({ id, name }) => {
      const s = samples.get(id)!;
      const med = (pick: (x: Sample) => number) => median(s.map(pick));
      return {
        id,
        target: name,
        samples: s,
        rps: med((x) => x.rps),
        p50Ms: med((x) => x.p50Ms),
        p99Ms: med((x) => x.p99Ms),
        cpuMsPer1k: med((x) => x.cpuMsPer1k),
        hopCpuMsPer1k: med((x) => x.hopCpuMsPer1k),
        hopBytesPerHit: med((x) => x.hopBytesPerHit),
        errors: s.reduce((n, x) => n + x.errors, 0),
      };
    });
  } finally {
    await stopAll(servers);
    await rm(dir, { recursive: true, force: true });
  }
}

export const hitPathBench: Bench = {
  id: 'a',
  usesWrk: true,
  name: 'hit path, side by side',
  async run(options): Promise<BenchOutcome> {
    const results = await benchHitPath(options);
    const by = (id: string) => results.find((r) => r.id === id)!;
    const [fastify, twoHop, inProcess, http, near] = ['fastify', 'two-hop', 'in-process', 'http', 'near-cache'].map(by) as HitPathResult[];
    // Ratios are taken round by round (each round runs every target once, back to back), then
    // the median: drift in the machine's load between rounds then cancels out of them.
    const ratio = (of: HitPathResult, to: HitPathResult, pick: (s: Sample) => number = (s) => s.rps) =>
      median(of.samples.map((s, round) => pick(s) / pick(to.samples[round]!)));
    return {
      heading: `hit path, 100 KB image, wrk 1 thread × ${CONNECTIONS} connections, median of ${options.runs} × ${options.durationS} s`,
      rows: results.map((r) => ({
        target: r.target,
        'req/s': Math.round(r.rps),
        '× Fastify': fixed(ratio(r, fastify!)),
        '× two-hop': fixed(ratio(r, twoHop!)),
        'p50 ms': fixed(r.p50Ms),
        'p99 ms': fixed(r.p99Ms),
        'web CPU ms/1k': fixed(r.cpuMsPer1k, 0),
        'hop CPU ms/1k': Number.isFinite(r.hopCpuMsPer1k) ? fixed(r.hopCpuMsPer1k, 0) : '',
        'hop B/hit': Number.isFinite(r.hopBytesPerHit) ? Math.round(r.hopBytesPerHit) : '',
        errors: r.errors,
      })),
      verdicts: [
        atLeast('in-process / bare Fastify', ratio(inProcess!, fastify!), TARGETS.inProcess),
        atLeast('over HTTP / bare two-hop', ratio(http!, twoHop!), TARGETS.httpOverTwoHop),
        atMost('web CPU per hit, over HTTP / in-process', ratio(http!, inProcess!, (s) => s.cpuMsPer1k), TARGETS.httpCpuOverInProcess),
        atLeast('near cache / bare Fastify', ratio(near!, fastify!), TARGETS.nearCache),
        atMost('near cache, bytes on the hop per unchanged hit', near!.hopBytesPerHit, TARGETS.nearCacheHopBytes, 0),
      ],
      notes: [
        '× Fastify, × two-hop and the targets below: the median over the rounds of each round\'s own ratio',
        'web CPU ms/1k: user+system CPU of the serving process (/proc/<pid>/stat) per 1,000 answers; for the two-hop and the product that is the front process, the cache nodes not included',
        'hop CPU ms/1k: the same for the far side of the hop (the origin, or all cache nodes)',
        'hop B/hit: bytes the far side of the hop read and wrote (/proc/<pid>/io rchar+wchar of the origin or the cache nodes) per answer',
      ],
      data: results,
    };
  },
};
