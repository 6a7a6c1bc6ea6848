// (f) Memory of one cache node: a `cache` role process, set to 64 MB LRU and filled to
// capacity with 100 KB values over its own HTTP API. RSS comes from /proc/<pid>/status.
// The node runs as production runs it (the AMI's unit, the process provider from a build):
// `<CACHE_NODE_ENV> node <CACHE_NODE_EXEC_ARGV> dist/cli.js`, built first with `npm run build`.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CacheStats } from '../src/cache/cache-stats.js';
import { CONTENT_TYPE_HEADER, ETAG_HEADER } from '../src/pool/cache-node-protocol.js';
import { CACHE_NODE_ENV, CACHE_NODE_EXEC_ARGV } from '../src/roles/cache/cache-node-launch.js';
import { freePort, startServer, stopAll } from './bench-processes.js';
import { atMost, median } from './bench-stats.js';
import type { Bench, BenchOptions, BenchOutcome } from './bench-types.js';

const CAPACITY_MB = 64;
const VALUE_BYTES = 100 * 1024;
const OVERHEAD_TARGET_MB = 80;
const BATCH = 32;
const CONCURRENCY = 8;
const MB = 1024 * 1024;

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** RSS after the process settled: the median of a few samples, so one GC moment cannot decide. */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(500);
    samples.push((await memoryOf(pid)).rss);
  }
  return median(samples);
}

async function fill(base: string): Promise<CacheStats> {
  const bytes = Buffer.alloc(VALUE_BYTES, 7);
  const stats = async () => (await (await fetch(`${base}/stats`)).json()) as CacheStats;
  const put = async (i: number) => {
    const response = await fetch(`${base}/cache/fill-${i}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', [CONTENT_TYPE_HEADER]: 'image/png', [ETAG_HEADER]: `"${i}"` },
      body: bytes,
    });
    if (!response.ok) throw new Error(`PUT /cache/fill-${i}: ${response.status}`);
  };
  let next = 0;
  const batch = async () => {
    const end = next + BATCH;
    const worker = async () => {
      while (next < end) await put(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
  // Full once the node starts evicting; one more tenth of the capacity then makes sure of it.
  while ((await stats()).evictions === 0) await batch();
  const extra = Math.ceil((CAPACITY_MB * MB) / VALUE_BYTES / 10 / BATCH);
  for (let i = 0; i < extra; i++) await batch();
  return stats();
}

type Measured = { idle: number; filled: number; peak: number; stats: CacheStats };

/** One node from start to full: its settled RSS when empty and when full, and its peak. */
async function measureOnce(): Promise<Measured> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(
    'cache node',
    'dist/cli.js',
    ['start', '--role', 'cache'],
    { ...CACHE_NODE_ENV, EMC_CACHE_PORT: String(port), EMC_NODE_ID: 'bench-memory' },
    `${base}/health`,
    CACHE_NODE_EXEC_ARGV,
  );
  try {
    const pid = server.child.pid!;
    const idle = await settledRss(pid);
    const configured = await fetch(`${base}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capacityMb: CAPACITY_MB, policy: 'LRU' }),
    });
    if (!configured.ok) throw new Error(`PUT /config: ${configured.status} ${await configured.text()}`);
    const stats = await fill(base);
    const filled = await settledRss(pid);
    const { peak } = await memoryOf(pid);
    return { idle, filled, peak, stats };
  } finally {
    await stopAll([server]);
  }
}

export const memoryBench: Bench = {
  id: 'f',
  name: 'cache node memory',
  async run({ runs }: BenchOptions): Promise<BenchOutcome> {
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const measured: Measured[] = [];
    for (let i = 0; i < runs; i++) measured.push(await measureOnce());
    const idle = median(measured.map((m) => m.idle));
    const filled = median(measured.map((m) => m.filled));
    const peak = Math.max(...measured.map((m) => m.peak));
    const { stats } = measured.at(-1)!;
    const capacity = CAPACITY_MB * MB;
    const mbOf = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
    const runsOf = (pick: (m: Measured) => number) => measured.map((m) => mbOf(pick(m))).join(' / ');
    return {
      heading: `cache node memory, role cache, ${CAPACITY_MB} MB LRU filled with ${VALUE_BYTES / 1024} KB values, median of ${runs} nodes (RSS from /proc/<pid>/status)`,
      rows: [
        { state: 'idle (started, empty)', 'RSS MB': mbOf(idle), runs: runsOf((m) => m.idle), items: 0, 'stored MB': 0, 'RSS − capacity MB': '' },
        {
          state: 'filled to capacity',
          'RSS MB': mbOf(filled),
          runs: runsOf((m) => m.filled),
          items: stats.items,
          'stored MB': mbOf(stats.bytes),
          'RSS − capacity MB': mbOf(filled - capacity),
        },
      ],
      verdicts: [atMost(`RSS filled (MB), capacity ${CAPACITY_MB} MB + ${OVERHEAD_TARGET_MB} MB`, filled / MB, CAPACITY_MB + OVERHEAD_TARGET_MB, 0)],
      notes: [
        `${Object.entries(CACHE_NODE_ENV).map(([k, v]) => `${k}=${v} `).join('')}node ${CACHE_NODE_EXEC_ARGV.join(' ')} dist/cli.js start --role cache`,
        `highest peak RSS (VmHWM) during a fill: ${mbOf(peak)} MB; evictions ${stats.evictions}; each RSS is the median of 5 samples 0.5 s apart`,
      ],
      data: { capacityBytes: capacity, valueBytes: VALUE_BYTES, idleRss: idle, filledRss: filled, peakRss: peak, runs: measured },
    };
  },
};
