import { Semaphore } from 'async-mutex';
import { AppError } from './app-error.js';

export type WorkGate = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * Runs at most `concurrency` of one kind of heavy request at a time, so a crowd of them
 * (eight clients paging through /keys) waits its turn instead of crowding the image look-ups
 * out of the event loop. A waiting request costs nothing; past `queue` waiting, a 503 says to
 * come back, so the crowd cannot grow memory either.
 */
export function createWorkGate({ concurrency, queue, busy }: { concurrency: number; queue: number; busy: string }): WorkGate {
  const semaphore = new Semaphore(concurrency);
  // Running plus waiting.
  let admitted = 0;
  return async (work) => {
    if (admitted >= concurrency + queue) throw new AppError(503, busy);
    admitted++;
    try {
      return await semaphore.runExclusive(work);
    } finally {
      admitted--;
    }
  };
}
