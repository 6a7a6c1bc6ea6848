// (a) The hit path: GET /image/<key> of a 100 KB image at 50 connections, served
// by the web role with in-process shards, by the web role with cache-role
// processes over HTTP, and by a bare Fastify route returning the same preloaded
// Buffer (the ceiling). Load comes from this process, servers run in their own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { benchImage } from './bench-image.js';
import { freePort, startServer, stopAll, type Server } from './bench-processes.js';

export type HitPathResult = {
  target: string;
  requestsPerSecond: number[];
  median: number;
  ratioToCeiling: number;
  errors: number;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(url: string, durationS: number): Promise<{ rps: number; errors: number }> {
  const result = await autocannon({ url, connections: 50, duration: durationS, pipelining: 1 });
  return { rps: result.requests.average, errors: result.errors + result.non2xx };
}

export async function benchHitPath({ runs = 3, durationS = 8 } = {}): Promise<HitPathResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'emc-bench-'));
  const env = { EMC_DATA_DIR: dataDir };
  const servers: Server[] = [];
  try {
    const [ceilingPort, webPort, httpWebPort, ...managerPorts] = await Promise.all(Array.from({ length: 5 }, freePort));
    const ports = (web: number, manager: number) => ({ EMC_WEB_PORT: String(web), EMC_MANAGER_PORT: String(manager) });
    servers.push(await startServer('ceiling', 'bench/servers/ceiling.ts', [String(ceilingPort)], env, `http://127.0.0.1:${ceilingPort}/image/x`));
    servers.push(
      await startServer('in-process', 'src/cli.ts', ['start', '--role', 'all'], { ...env, ...ports(webPort, managerPorts[0]!) }, `http://127.0.0.1:${webPort}/health`),
    );
    // The product's own multi-process pool: two cache-role children on loopback.
    servers.push(
      await startServer(
        'process pool',
        'src/cli.ts',
        ['start', '--role', 'all'],
        { EMC_DATA_DIR: join(dataDir, 'process-pool'), EMC_PROVIDER: 'process', EMC_MIN_NODES: '2', ...ports(httpWebPort, managerPorts[1]!) },
        `http://127.0.0.1:${httpWebPort}/health`,
      ),
    );

    for (const port of [webPort, httpWebPort]) {
      const form = new FormData();
      form.set('key', 'bench');
      form.set('file', new Blob([benchImage()]), 'bench.png');
      const uploaded = await fetch(`http://127.0.0.1:${port}/api/upload`, { method: 'POST', body: form });
      if (!uploaded.ok) throw new Error(`upload failed: ${await uploaded.text()}`);
    }

    const targets = [
      { name: 'ceiling (bare Fastify, preloaded Buffer)', url: `http://127.0.0.1:${ceilingPort}/image/bench` },
      { name: 'web role, in-process shards', url: `http://127.0.0.1:${webPort}/image/bench` },
      { name: 'web role, 2 cache processes over HTTP', url: `http://127.0.0.1:${httpWebPort}/image/bench` },
    ];
    for (const target of targets) await measure(target.url, 2); // warm up: JIT, connections, first fill
    const samples = new Map(targets.map((t) => [t.name, { rps: [] as number[], errors: 0 }]));
    // Rounds interleave the targets so drift in the machine's load hits all of them alike.
    for (let round = 0; round < runs; round++) {
      for (const target of targets) {
        const { rps, errors } = await measure(target.url, durationS);
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
