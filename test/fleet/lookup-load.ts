// Look-ups over real HTTP against the web hosts while a fault happens: a few workers per host
// loop over the keys (bounded in count and time) and count every answer that was not the
// right image — a wrong status, wrong bytes or no answer at all.
import { lookupLoop, type Load, type LoadReport } from '../helpers/fault-load.js';

export type LookupFailure = { origin: string; key: string; status: number | string };
export type LookupReport = LoadReport<LookupFailure>;

export type LookupLoadOptions = {
  workersPerOrigin?: number;
  maxLookups?: number;
  maxMs?: number;
  /** Each look-up's deadline: longer than the web tier's cache timeout, so a slow fallback still counts as served. */
  timeoutMs?: number;
};

/**
 * `origins`: fixed ones (each gets `workersPerOrigin` workers), or where a load balancer sends
 * requests at the moment of each look-up (then `workersPerOrigin` workers in all, spread over them).
 */
export function lookupLoad(
  origins: string[] | (() => readonly string[]),
  images: ReadonlyMap<string, Buffer>,
  { workersPerOrigin = 3, maxLookups = 50_000, maxMs = 120_000, timeoutMs = 10_000 }: LookupLoadOptions = {},
): Load<LookupFailure> {
  const current = typeof origins === 'function' ? origins : () => origins;
  const workers = typeof origins === 'function' ? workersPerOrigin : origins.length * workersPerOrigin;
  let turn = 0;
  const lookup = async (key: string): Promise<LookupFailure | undefined> => {
    const now = current();
    if (now.length === 0) return { origin: '(none)', key, status: 'no healthy target' };
    const origin = now[turn++ % now.length]!;
    let status: number | string;
    try {
      const res = await fetch(`${origin}/image/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(timeoutMs) });
      const body = Buffer.from(await res.arrayBuffer());
      status = res.status === 200 && !body.equals(images.get(key)!) ? 'wrong bytes' : res.status;
    } catch (err) {
      status = (err as Error).cause ? String((err as { cause: Error }).cause.message) : (err as Error).message;
    }
    return status === 200 ? undefined : { origin, key, status };
  };
  return lookupLoop([...images.keys()], workers, lookup, { maxLookups, deadline: Date.now() + maxMs });
}

/** A short summary for messages: how many failed, and the first few. */
export function describeFailures({ lookups, failures }: LookupReport): string {
  const sample = failures.slice(0, 5).map((f) => `${f.origin} ${f.key}: ${f.status}`);
  return `${failures.length} of ${lookups} look-ups failed${sample.length ? `: ${sample.join('; ')}` : ''}`;
}
