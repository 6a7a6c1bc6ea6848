// (a) The hit path: GET /image/<key> of a 100 KB image at 50 connections, served
// by the web role with in-process shards, by the web role with cache-role
// processes over HTTP, and by a bare Fastify route returning the same preloaded
// Buffer (the ceiling). Load comes from this process, servers run in their own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchImage } from './bench-image.js';
import { freePort, startServer, stopAll, type Server } from './bench-processes.js';
import { atLeast, fixed, median } from './bench-stats.js';
import type { Bench, BenchOptions, BenchOutcome } from './bench-types.js';
import { CONNECTIONS, load } from './load.js';
import { startAllRole, upload } from './web-server.js';

export type HitPathResult = {
  target: string;
  requestsPerSecond: number[];
  median: number;
  ratioToCeiling: number;
  errors: number;
};

const TARGETS = { inProcess: 0.85, http: 0.45 };

export async function benchHitPath({ runs = 3, durationS = 8 }: Partial<BenchOptions> = {}): Promise<HitPathResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-bench-'));
  const servers: Server[] = [];
  try {
    const ceilingPort = await freePort();
    servers.push(await startServer('ceiling', 'bench/servers/ceiling.ts', [String(ceilingPort)], {}, `http://127.0.0.1:${ceilingPort}/image/x`));
    const inProcess = await startAllRole('in-process', { EMC_DATA_DIR: dataDir });
    servers.push(inProcess.server);
    // The product's own multi-process pool: two cache-role children on loopback.
    const processPool = await startAllRole('process pool', {
      EMC_DATA_DIR: join(dataDir, 'process-pool'),
      EMC_PROVIDER: 'process',
      EMC_MIN_NODES: '2',
    });
    servers.push(processPool.server);
    for (const { base } of [inProcess, processPool]) await upload(base, 'bench', benchImage());

    const targets = [
      { name: 'ceiling (bare Fastify, preloaded Buffer)', url: `http://127.0.0.1:${ceilingPort}/image/bench` },
      { name: 'web role, in-process shards', url: `${inProcess.base}/image/bench` },
      { name: 'web role, 2 cache processes over HTTP', url: `${processPool.base}/image/bench` },
    ];
    for (const target of targets) await load({ url: target.url, duration: 2 }); // warm up: JIT, connections, first fill
    const samples = new Map(targets.map((t) => [t.name, { rps: [] as number[], errors: 0 }]));
    // Rounds interleave the targets so drift in the machine's load hits all of them alike.
    for (let round = 0; round < runs; round++) {
      for (const target of targets) {
        const { rps, errors } = await load({ url: target.url, duration: durationS });
        samples.get(target.name)!.rps.push(rps);
        samples.get(target.name)!.errors += errors;
      }
    }
    const ceiling = median(samples.get(targets[0]!.name)!.rps);
    return targets.map(({ name }) => {
      const s = samples.get(name)!;
      return { target: name, requestsPerSecond: s.rps, median: median(s.rps), ratioToCeiling: median(s.rps) / ceiling, errors: s.errors };
    });
  } finally {
    await stopAll(servers);
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const hitPathBench: Bench = {
  id: 'a',
  name: 'hit path vs ceiling',
  async run(options): Promise<BenchOutcome> {
    const results = await benchHitPath(options);
    const [, inProcess, http] = results;
    return {
      heading: `hit path, 100 KB image, ${CONNECTIONS} connections, median of ${options.runs} × ${options.durationS} s`,
      rows: results.map((r) => ({
        target: r.target,
        'median req/s': Math.round(r.median),
        'ratio to ceiling': fixed(r.ratioToCeiling),
        runs: r.requestsPerSecond.map(Math.round).join(' / '),
        errors: r.errors,
      })),
      verdicts: [
        atLeast('in-process shards / ceiling', inProcess!.ratioToCeiling, TARGETS.inProcess),
        atLeast('2 cache processes over HTTP / ceiling', http!.ratioToCeiling, TARGETS.http),
      ],
      data: results,
    };
  },
};
