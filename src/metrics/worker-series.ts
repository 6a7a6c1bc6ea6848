import type { WorkerMinute, WorkerStats, WorkerWindow } from './metrics-sink.js';
import { MINUTE_MS } from './minute-series.js';

/** `cpu` null: the worker's counts arrived but its CPU did not (CloudWatch has no EC2 point for the minute yet). */
export type WorkerRow = Pick<WorkerStats, 'workerId' | 'at' | 'requests' | 'bytesIn' | 'bytesOut'> & { cpu: number | null };

/** The mean of each worker's average CPU: a worker that reports more often does not weigh more. */
export function meanWorkerCpu(perWorker: Iterable<{ sum: number; count: number }>): { cpu: number; workers: number } {
  let total = 0;
  let workers = 0;
  for (const { sum, count } of perWorker) {
    if (count === 0) continue;
    total += sum / count;
    workers += 1;
  }
  return { cpu: workers > 0 ? total / workers : 0, workers };
}

export function workerWindowOf(perWorker: Iterable<{ sum: number; count: number }>): WorkerWindow {
  const { cpu, workers } = meanWorkerCpu(perWorker);
  return { reported: workers > 0, cpu, workers };
}

type Bucket = { requests: number; bytesIn: number; bytesOut: number; workers: Set<string>; cpu: Map<string, { sum: number; count: number }> };

/** The number of whole or partial minutes from `start` (already floored) to `to`. */
export const minutesUntil = (start: Date, to: Date) => Math.max(0, Math.ceil((to.getTime() - start.getTime()) / MINUTE_MS));

/** One point per minute from `start` (already floored); rows outside the minutes are ignored. */
export function bucketWorkersByMinute(rows: Iterable<WorkerRow>, start: Date, minutes: number): WorkerMinute[] {
  const buckets: (Bucket | undefined)[] = new Array(minutes).fill(undefined);
  for (const row of rows) {
    const index = Math.floor((row.at.getTime() - start.getTime()) / MINUTE_MS);
    if (index < 0 || index >= minutes) continue;
    const bucket = (buckets[index] ??= { requests: 0, bytesIn: 0, bytesOut: 0, workers: new Set(), cpu: new Map() });
    bucket.requests += row.requests;
    bucket.bytesIn += row.bytesIn;
    bucket.bytesOut += row.bytesOut;
    bucket.workers.add(row.workerId);
    if (row.cpu === null) continue;
    const cpu = bucket.cpu.get(row.workerId) ?? { sum: 0, count: 0 };
    cpu.sum += row.cpu;
    cpu.count += 1;
    bucket.cpu.set(row.workerId, cpu);
  }
  return buckets.map((bucket, i) => {
    const at = new Date(start.getTime() + i * MINUTE_MS);
    if (!bucket) return { at, workers: 0, cpu: null, requests: null, bytesIn: null, bytesOut: null };
    const { cpu, workers } = meanWorkerCpu(bucket.cpu.values());
    return { at, workers: bucket.workers.size, cpu: workers > 0 ? cpu : null, requests: bucket.requests, bytesIn: bucket.bytesIn, bytesOut: bucket.bytesOut };
  });
}
