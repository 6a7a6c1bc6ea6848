// A steady stream of look-ups for the fault tests: workers loop over the keys until
// stopped (or a bound is reached) and count every answer that was not the right image.
import type { FastifyInstance } from 'fastify';

export type LoadReport = { lookups: number; failures: { key: string; status: number }[] };

export type Load = {
  /** Stops the workers and resolves with what they saw. */
  stop(): Promise<LoadReport>;
  lookups(): number;
};

export function steadyLookups(
  app: FastifyInstance,
  images: ReadonlyMap<string, Buffer>,
  { workers = 16, maxLookups = 200_000 }: { workers?: number; maxLookups?: number } = {},
): Load {
  const keys = [...images.keys()];
  const report: LoadReport = { lookups: 0, failures: [] };
  let running = true;
  let next = 0;
  const worker = async () => {
    while (running && report.lookups < maxLookups) {
      const key = keys[next++ % keys.length]!;
      // A real client's look-ups arrive through sockets, each in a turn of the event loop.
      // inject() does not yield: a look-up answered without I/O (a suspect node's key served
      // from the near cache after a synchronous SQLite read) would otherwise loop in microtasks
      // and starve every timer, the health probe included.
      await new Promise((resolve) => setImmediate(resolve));
      const res = await app.inject(`/image/${encodeURIComponent(key)}`);
      report.lookups++;
      if (res.statusCode !== 200 || !res.rawPayload.equals(images.get(key)!)) report.failures.push({ key, status: res.statusCode });
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    async stop() {
      running = false;
      await done;
      return report;
    },
    lookups: () => report.lookups,
  };
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
export async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
