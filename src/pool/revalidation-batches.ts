/**
 * Look-ups of one key that hold the same near copy share revalidations with its owner node,
 * group-commit style: at most one is in flight per (node, key, version), and look-ups
 * arriving meanwhile join the next one, sent when it returns. Every look-up is answered by a
 * revalidation sent after it arrived, so it sees every invalidation that completed before it
 * began, exactly as if it had asked alone. `send` is told how many look-ups it stands for,
 * so the node counts each of them.
 */
export type RevalidationBatches = <T>(id: string, send: (lookups: number) => Promise<T>) => Promise<T>;

type Batch = {
  lookups: number;
  send: (lookups: number) => Promise<unknown>;
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

function batchOf(send: Batch['send']): Batch {
  let resolve!: Batch['resolve'];
  let reject!: Batch['reject'];
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { lookups: 0, send, promise, resolve, reject };
}

export function createRevalidationBatches(): RevalidationBatches {
  /** Per id, the batch waiting for the one in flight to return (none yet: undefined). */
  const waiting = new Map<string, Batch | undefined>();

  function run(id: string, batch: Batch): void {
    batch.send(batch.lookups).then(batch.resolve, batch.reject).finally(() => {
      const next = waiting.get(id);
      if (next) {
        waiting.set(id, undefined);
        run(id, next);
      } else waiting.delete(id);
    });
  }

  return <T>(id: string, send: (lookups: number) => Promise<T>): Promise<T> => {
    if (!waiting.has(id)) {
      const now = batchOf(send);
      now.lookups = 1;
      waiting.set(id, undefined);
      run(id, now);
      return now.promise as Promise<T>;
    }
    const next = waiting.get(id) ?? batchOf(send);
    next.lookups++;
    waiting.set(id, next);
    return next.promise as Promise<T>;
  };
}
