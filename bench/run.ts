// `npm run bench`: runs the benchmarks, prints a table, writes JSON to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchHitPath } from './hit-path.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const durationS = Number(process.env.BENCH_DURATION_S ?? 8);
const targets = { inProcess: 0.85, http: 0.45 };

const hitPath = await benchHitPath({ runs, durationS });
console.log(`\n(a) hit path, 100 KB image, 50 connections, median of ${runs} × ${durationS} s`);
console.table(
  hitPath.map((r) => ({
    target: r.target,
    'median req/s': Math.round(r.median),
    'ratio to ceiling': r.ratioToCeiling.toFixed(2),
    runs: r.requestsPerSecond.map(Math.round).join(' / '),
    errors: r.errors,
  })),
);
const [, inProcess, http] = hitPath;
console.log(
  `in-process ${inProcess!.ratioToCeiling.toFixed(2)} (target ≥ ${targets.inProcess}: ${inProcess!.ratioToCeiling >= targets.inProcess ? 'met' : 'MISSED'}), ` +
    `HTTP nodes ${http!.ratioToCeiling.toFixed(2)} (target ≥ ${targets.http}: ${http!.ratioToCeiling >= targets.http ? 'met' : 'MISSED'})`,
);

const dir = join(import.meta.dirname, 'results');
await mkdir(dir, { recursive: true });
const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify({ at: new Date().toISOString(), runs, durationS, hitPath }, null, 2));
console.log(`results written to ${file}`);
