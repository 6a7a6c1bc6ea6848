// A steady stream of look-ups for the fault tests: workers loop over the keys until
// stopped (or a bound is reached) and count every answer that was not the right image.
import type { FastifyInstance } from 'fastify';

export type LoadReport<F = { key: string; status: number }> = { lookups: number; failures: F[] };

export type Load<F = { key: string; status: number }> = {
  /** Stops the workers and resolves with what they saw. */
  stop(): Promise<LoadReport<F>>;
  lookups(): number;
};

/**
 * `workers` loops over the keys in turn until stopped, `maxLookups` made or `deadline`
 * (epoch ms) passed; `lookup` returns a failure, or undefined for the right image.
 */
export function lookupLoop<F>(
  keys: string[],
  workers: number,
  lookup: (key: string, worker: number) => Promise<F | undefined>,
  { maxLookups, deadline = Infinity }: { maxLookups: number; deadline?: number },
): Load<F> {
  const report: LoadReport<F> = { lookups: 0, failures: [] };
  let running = true;
  let next = 0;
  const worker = async (w: number) => {
    while (running && report.lookups < maxLookups && Date.now() < deadline) {
      // A real client's look-ups arrive through sockets, each in a turn of the event loop.
      // inject() does not yield: a look-up answered without I/O (a suspect node's key served
      // from the near cache after a synchronous SQLite read) would otherwise loop in microtasks
      // and starve every timer, the health probe included.
      await new Promise((resolve) => setImmediate(resolve));
      const failure = await lookup(keys[next++ % keys.length]!, w);
      report.lookups++;
      if (failure !== undefined) report.failures.push(failure);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return {
    async stop() {
      running = false;
      await done;
      return report;
    },
    lookups: () => report.lookups,
  };
}

export function steadyLookups(
  app: FastifyInstance,
  images: ReadonlyMap<string, Buffer>,
  { workers = 16, maxLookups = 200_000 }: { workers?: number; maxLookups?: number } = {},
): Load {
  return lookupLoop([...images.keys()], workers, async (key) => {
    const res = await app.inject(`/image/${encodeURIComponent(key)}`);
    return res.statusCode !== 200 || !res.rawPayload.equals(images.get(key)!) ? { key, status: res.statusCode } : undefined;
  }, { maxLookups });
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
export async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
