// One autocannon run from this process; every HTTP benchmark counts the same way.
import autocannon from 'autocannon';

export const CONNECTIONS = 50;

export type LoadResult = { rps: number; total: number; errors: number };

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ connections: CONNECTIONS, pipelining: 1, ...options });
  // A 4xx/5xx is as wrong as a dropped connection: the benchmark must not count it as served.
  return { rps: result.requests.average, total: result.requests.total, errors: result.errors + result.non2xx };
}

/**
 * Requests that differ per request (a key in the path or the body), numbered across
 * all connections: a per-connection sequence would put all 50 connections on the
 * same key at once, which single-flight and the cache would turn into hits.
 */
export function rotating(build: (i: number) => autocannon.Request): autocannon.Request[] {
  let next = 0;
  return [{ setupRequest: (request) => ({ ...request, ...build(next++) }) }];
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
