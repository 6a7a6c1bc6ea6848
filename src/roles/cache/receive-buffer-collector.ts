/**
 * A dead Buffer's memory is freed only when V8 collects its JS wrapper, and V8 schedules
 * collections by its JS heap, which a cache node hardly uses, and by a 64 MB allowance of
 * memory held outside that heap. A node receiving images would hold up to tens of MB of dead
 * receive buffers (each body's socket chunks) beside its capacity, and keep them while it is
 * quiet. Counting the bytes received and collecting after every `budgetBytes`, and once when
 * receiving pauses for `idleMs`, bounds that to the budget and gives it back at rest.
 *
 * `collect` is V8's `gc` (a cache node runs with --expose-gc, see cache-node-launch.ts): a
 * full collection of a node's small heap takes a millisecond or two.
 */
export type ReceiveBufferCollector = { received(bytes: number): void; close(): void };

export type ReceiveBufferCollectorOptions = {
  collect: () => void;
  budgetBytes?: number;
  idleMs?: number;
};

export function createReceiveBufferCollector({
  collect,
  budgetBytes = 8 * 1024 * 1024,
  idleMs = 1000,
}: ReceiveBufferCollectorOptions): ReceiveBufferCollector {
  let pending = 0;
  let idle: NodeJS.Timeout | undefined;

  function run(): void {
    clearTimeout(idle);
    idle = undefined;
    pending = 0;
    collect();
  }

  return {
    received(bytes) {
      if (bytes <= 0) return;
      pending += bytes;
      if (pending >= budgetBytes) return run();
      clearTimeout(idle);
      idle = setTimeout(run, idleMs).unref();
    },
    close() {
      clearTimeout(idle);
      idle = undefined;
    },
  };
}
