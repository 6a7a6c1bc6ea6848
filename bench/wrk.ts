// Load from wrk, a native generator in its own process: in-process generators (autocannon)
// saturate before the server on 100 KB answers, so their figures measure themselves.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const CONNECTIONS = 50;

export type LoadResult = {
  rps: number;
  requests: number;
  /** Latency percentiles in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Socket errors, timeouts and answers with a status ≥ 400: none of them counts as served. */
  errors: number;
};

/** What wrk needs beyond a URL: a Lua snippet defining `request()` (and `init()`), run in its one thread. */
export type LoadOptions = { url: string; durationS: number; connections?: number; script?: string };

/** Throws a message that says how to install wrk when it is missing. */
export function assertWrk(): void {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error('npm run bench needs wrk (a native HTTP load generator): apt-get install -y wrk (Debian/Ubuntu), brew install wrk (macOS)');
  }
}

// wrk's `done` hook: the summary as one JSON line, so nothing parses its human output.
const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

/** A Lua string literal for an ASCII text (keys and paths the benchmarks build). */
export const luaString = (text: string): string => JSON.stringify(text);

/** `request()` cycling through `paths`, shared by all connections so no two start on the same one. */
export function rotatingPaths(paths: readonly string[]): string {
  return `local paths = {${paths.map(luaString).join(',')}}
local next = 0
request = function()
  next = next % #paths + 1
  return wrk.format(nil, paths[next])
end
`;
}

export async function load({ url, durationS, connections = CONNECTIONS, script = '' }: LoadOptions): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'emc-wrk-'));
  try {
    const file = join(dir, 'bench.lua');
    await writeFile(file, script + REPORT);
    // One thread: the bench's rotating scripts keep their state per thread, and on two
    // cores a second wrk thread takes CPU from the server it measures.
    const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '10s', '-s', file, url];
    const { stdout } = await promisify(execFile)('wrk', args, { maxBuffer: 1 << 20 });
    const line = stdout.trim().split('\n').at(-1)!;
    const r = JSON.parse(line) as { requests: number; durationUs: number; p50Us: number; p99Us: number; errors: number };
    return { rps: r.requests / (r.durationUs / 1e6), requests: r.requests, p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, errors: r.errors };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Requests per second of each of `runs` runs, and the errors of all of them. */
export type Series = { rps: number[]; errors: number };

export async function rounds(runs: number, run: () => Promise<LoadResult>): Promise<Series> {
  const series: Series = { rps: [], errors: 0 };
  for (let i = 0; i < runs; i++) {
    const { rps, errors } = await run();
    series.rps.push(rps);
    series.errors += errors;
  }
  return series;
}

/** `request()` POSTing the contents of `files` in turn (each read once, when wrk starts). */
export function rotatingPosts(path: string, contentType: string, files: readonly string[]): string {
  return `local bodies = {}
for i, name in ipairs({${files.map(luaString).join(',')}}) do
  local f = assert(io.open(name, 'rb'))
  bodies[i] = f:read('*a')
  f:close()
end
local next = 0
request = function()
  next = next % #bodies + 1
  return wrk.format('POST', ${luaString(path)}, { ['Content-Type'] = ${luaString(contentType)} }, bodies[next])
end
`;
}
