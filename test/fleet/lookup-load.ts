// Look-ups over real HTTP against the web hosts while a fault happens: a few workers per host
// loop over the keys (bounded in count and time) and count every answer that was not the
// right image — a wrong status, wrong bytes or no answer at all.
export type LookupFailure = { origin: string; key: string; status: number | string };
export type LookupReport = { lookups: number; failures: LookupFailure[] };

export type LookupLoad = {
  /** Stops the workers and resolves with what they saw. */
  stop(): Promise<LookupReport>;
  lookups(): number;
};

export type LookupLoadOptions = {
  workersPerOrigin?: number;
  maxLookups?: number;
  maxMs?: number;
  /** Each look-up's deadline: longer than the web tier's cache timeout, so a slow fallback still counts as served. */
  timeoutMs?: number;
};

export function lookupLoad(
  origins: string[],
  images: ReadonlyMap<string, Buffer>,
  { workersPerOrigin = 3, maxLookups = 50_000, maxMs = 120_000, timeoutMs = 10_000 }: LookupLoadOptions = {},
): LookupLoad {
  const keys = [...images.keys()];
  const report: LookupReport = { lookups: 0, failures: [] };
  const deadline = Date.now() + maxMs;
  let running = true;
  let next = 0;
  const worker = async (origin: string) => {
    while (running && report.lookups < maxLookups && Date.now() < deadline) {
      const key = keys[next++ % keys.length]!;
      let status: number | string;
      try {
        const res = await fetch(`${origin}/image/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(timeoutMs) });
        const body = Buffer.from(await res.arrayBuffer());
        status = res.status === 200 && !body.equals(images.get(key)!) ? 'wrong bytes' : res.status;
      } catch (err) {
        status = (err as Error).cause ? String((err as { cause: Error }).cause.message) : (err as Error).message;
      }
      report.lookups++;
      if (status !== 200) report.failures.push({ origin, key, status });
    }
  };
  const done = Promise.all(origins.flatMap((origin) => Array.from({ length: workersPerOrigin }, () => worker(origin))));
  return {
    async stop() {
      running = false;
      await done;
      return report;
    },
    lookups: () => report.lookups,
  };
}

/** A short summary for messages: how many failed, and the first few. */
export function describeFailures({ lookups, failures }: LookupReport): string {
  const sample = failures.slice(0, 5).map((f) => `${f.origin} ${f.key}: ${f.status}`);
  return `${failures.length} of ${lookups} look-ups failed${sample.length ? `: ${sample.join('; ')}` : ''}`;
}
