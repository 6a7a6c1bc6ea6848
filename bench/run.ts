// `npm run bench`: runs the benchmarks one after another (they must not share the two
// cores), prints a table and the targets for each, and writes every result to one JSON
// file in bench/results/. BENCH_RUNS and BENCH_DURATION_S set the rounds of each
// measured benchmark (medians count); BENCH_ONLY=a,c,… picks benchmarks by letter.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchOptions, BenchOutcome } from './bench-types.js';
import { hitPathBench } from './hit-path.js';
import { memoryBench } from './memory.js';
import { missPathBench } from './miss-path.js';
import { resizeHitRateBench } from './resize-hit-rate.js';
import { routingBench } from './routing.js';
import { startTimeBench } from './start-time.js';
import { underChangeBench } from './under-change.js';
import { uploadsBench } from './uploads.js';
import { assertWrk } from './wrk.js';

// A new benchmark is one module exporting a Bench, added here under its own letter.
const ALL: Bench[] = [hitPathBench, missPathBench, uploadsBench, routingBench, resizeHitRateBench, memoryBench, underChangeBench, startTimeBench];

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function selected(): Bench[] {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!only?.length) return ALL;
  const unknown = only.filter((id) => !ALL.some((b) => b.id === id));
  if (unknown.length > 0) {
    throw new Error(`BENCH_ONLY: unknown benchmark ${unknown.join(', ')}; choose from ${ALL.map((b) => `${b.id} (${b.name})`).join(', ')}`);
  }
  return ALL.filter((b) => only.includes(b.id));
}

function print(bench: Bench, outcome: BenchOutcome, seconds: number, loadAfter: string): void {
  console.log(`\n(${bench.id}) ${outcome.heading}  [${seconds.toFixed(0)} s, load average after ${loadAfter}]`);
  console.table(outcome.rows);
  for (const note of outcome.notes ?? []) console.log(`  ${note}`);
  for (const v of outcome.verdicts) {
    const value = Number.isInteger(v.value) ? String(v.value) : v.value.toFixed(v.value >= 10 ? 1 : 3);
    console.log(`  ${v.what}: ${value} (target ${v.target}): ${v.met ? 'met' : 'MISSED'}`);
  }
}

const options: BenchOptions = {
  runs: Math.round(positiveNumber('BENCH_RUNS', 3)),
  durationS: positiveNumber('BENCH_DURATION_S', 8),
};
const benches = selected();
if (benches.some((b) => b.usesWrk)) assertWrk();
// The machine is shared: a load average above its cores means the numbers below are low.
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const machine = { cpus: cpus().length, loadBefore: load(), loadAfter: '' };
console.log(`benchmarks ${benches.map((b) => b.id).join(',')}: ${options.runs} runs × ${options.durationS} s; ${machine.cpus} CPUs, load average ${machine.loadBefore}`);
const results: Record<string, { name: string; seconds: number; loadAfter: string } & BenchOutcome> = {};
const failed: string[] = [];
const started = performance.now();
for (const bench of benches) {
  const t0 = performance.now();
  try {
    const outcome = await bench.run(options);
    const seconds = (performance.now() - t0) / 1000;
    const loadAfter = load();
    print(bench, outcome, seconds, loadAfter);
    results[bench.id] = { name: bench.name, seconds, loadAfter, ...outcome };
  } catch (err) {
    // One broken benchmark must not cost the numbers of the others.
    console.error(`\n(${bench.id}) ${bench.name} FAILED:`, err);
    failed.push(bench.id);
  }
}

machine.loadAfter = load();
const verdicts = Object.entries(results).flatMap(([id, r]) => r.verdicts.map((v) => ({ id, ...v })));
const missed = verdicts.filter((v) => !v.met);
console.log(
  `\ntargets: ${verdicts.length - missed.length} of ${verdicts.length} met` +
    (missed.length ? `; MISSED: ${missed.map((v) => `(${v.id}) ${v.what}`).join('; ')}` : '') +
    (failed.length ? `; benchmarks that failed: ${failed.join(', ')}` : '') +
    ` — ${((performance.now() - started) / 1000).toFixed(0)} s in all; load average now ${machine.loadAfter}`,
);

const dir = join(import.meta.dirname, 'results');
await mkdir(dir, { recursive: true });
const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify({ at: new Date().toISOString(), ...options, machine, only: benches.map((b) => b.id), failed, results }, null, 2));
console.log(`results written to ${file}`);
if (failed.length > 0) process.exitCode = 1;
