import { PutMetricDataCommand, type CloudWatchClient, type MetricDataQuery, type MetricDatum, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { fetchSeries } from './cloudwatch-queries.js';
import type { MetricsSink, WorkerStats } from './metrics-sink.js';
import { floorToMinute, MINUTE_MS } from './minute-series.js';
import { bucketWorkersByMinute, minutesUntil, workerWindowOf, type WorkerRow } from './worker-series.js';

/** The dimension of every per-worker series in the product's namespace. */
export const WORKER_DIMENSION = 'WorkerId';

/** A worker as the web pool records it; `instanceId` for one running on its own EC2 instance. */
export type KnownWorker = { workerId: string; instanceId: string | null };

/** The product's own per-worker counters. */
const COUNTS = [
  ['requests', 'WorkerRequests', 'Count'],
  ['bytesIn', 'WorkerBytesIn', 'Bytes'],
  ['bytesOut', 'WorkerBytesOut', 'Bytes'],
] as const satisfies readonly (readonly [keyof WorkerStats, string, StandardUnit])[];

/** A worker not on an instance of its own measures its CPU itself, as EC2's metric does: a percentage. */
const LOCAL_CPU = 'WorkerCPUUtilization';

/** PutMetricData takes at most 1000 data per call; GetMetricData at most 500 queries. */
const MAX_DATA_PER_CALL = 1000;
const MAX_QUERIES_PER_CALL = 500;

function toData(s: WorkerStats): MetricDatum[] {
  const Dimensions = [{ Name: WORKER_DIMENSION, Value: s.workerId }];
  const data: MetricDatum[] = COUNTS.map(([field, MetricName, Unit]) => ({ MetricName, Dimensions, Timestamp: s.at, Value: s[field], Unit }));
  // EC2 publishes an instance's CPUUtilization itself (AWS/EC2, InstanceId); sending ours too would be a second, different truth.
  if (s.instanceId === undefined) data.push({ MetricName: LOCAL_CPU, Dimensions, Timestamp: s.at, Value: s.cpu * 100, Unit: 'Percent' });
  return data;
}

/**
 * The CPU series of one worker: EC2's own CPUUtilization for an instance (one-minute points
 * need detailed monitoring; with basic monitoring EC2 has a point every 5 minutes only),
 * the worker's own metric otherwise.
 */
function cpuQuery(id: string, namespace: string, { workerId, instanceId }: KnownWorker): MetricDataQuery {
  const metric =
    instanceId === null
      ? { Namespace: namespace, MetricName: LOCAL_CPU, Dimensions: [{ Name: WORKER_DIMENSION, Value: workerId }] }
      : { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: instanceId }] };
  return { Id: id, MetricStat: { Metric: metric, Period: 60, Stat: 'Average' } };
}

function countQuery(id: string, namespace: string, metricName: string, workerId: string): MetricDataQuery {
  return {
    Id: id,
    MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: [{ Name: WORKER_DIMENSION, Value: workerId }] }, Period: 60, Stat: 'Sum' },
  };
}

export type CloudWatchWorkerStatsDeps = {
  cloudwatch: CloudWatchClient;
  namespace: string;
  /**
   * The workers to read, asked on every read. Named series (MetricStat) instead of SEARCH: a
   * new worker counts from its first point, where SEARCH lists a new series only after up to
   * 15 minutes. Without it (a worker process, which only publishes) nothing is read.
   */
  workers?: () => Promise<readonly KnownWorker[]>;
};

/**
 * The worker half of the CloudWatch sink: requests and bytes per worker (dimension WorkerId) in
 * the product's namespace; CPU from EC2's AWS/EC2 CPUUtilization (dimension InstanceId) for a
 * worker on an instance, from the product's WorkerCPUUtilization for one run locally. All at
 * one-minute resolution: the scaler looks at two minutes, the charts at minutes.
 */
export function createCloudWatchWorkerStats({
  cloudwatch,
  namespace,
  workers = async () => [],
}: CloudWatchWorkerStatsDeps): Pick<MetricsSink, 'publishWorkers' | 'workerWindow' | 'workerSeries'> {
  const perCall = Math.floor(MAX_DATA_PER_CALL / (COUNTS.length + 1));

  /** Runs the queries in calls of at most 500; the series come back by query Id. */
  async function read(queries: MetricDataQuery[], from: Date, to: Date) {
    const series = [];
    for (let i = 0; i < queries.length; i += MAX_QUERIES_PER_CALL) {
      series.push(...(await fetchSeries(cloudwatch, queries.slice(i, i + MAX_QUERIES_PER_CALL), from, to)));
    }
    return new Map(series.map((s) => [s.id, s.points]));
  }

  return {
    async publishWorkers(samples) {
      for (let i = 0; i < samples.length; i += perCall) {
        await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: samples.slice(i, i + perCall).flatMap(toData) }));
      }
    },

    async workerWindow(from, to) {
      const known = to.getTime() > from.getTime() ? await workers() : [];
      if (known.length === 0) return workerWindowOf([]);
      const points = await read(known.map((w, i) => cpuQuery(`cpu${i}`, namespace, w)), from, to);
      return workerWindowOf(
        known.map((_, i) => {
          // GetMetricData starts at the minute holding `from`: that minute is part of the window too.
          const inWindow = (points.get(`cpu${i}`) ?? []).filter(({ at }) => at.getTime() < to.getTime());
          return { sum: inWindow.reduce((sum, { value }) => sum + value / 100, 0), count: inWindow.length };
        }),
      );
    },

    async workerSeries(from, to, workerId) {
      const start = floorToMinute(from);
      const minutes = minutesUntil(start, to);
      const known = minutes > 0 ? (await workers()).filter((w) => workerId === undefined || w.workerId === workerId) : [];
      if (known.length === 0) return bucketWorkersByMinute([], start, minutes);
      const queries = known.flatMap((w, i) => [
        cpuQuery(`cpu${i}`, namespace, w),
        ...COUNTS.map(([field, metric]) => countQuery(`${field}${i}`, namespace, metric, w.workerId)),
      ]);
      const points = await read(queries, start, new Date(start.getTime() + minutes * MINUTE_MS));
      // One row per worker and minute with any point: the database sink's rows, pre-summed.
      const rows = new Map<string, WorkerRow>();
      known.forEach(({ workerId: id }, i) => {
        const row = (at: Date) => {
          const key = `${id}\0${at.getTime()}`;
          let found = rows.get(key);
          if (!found) rows.set(key, (found = { workerId: id, at, cpu: null, requests: 0, bytesIn: 0, bytesOut: 0 }));
          return found;
        };
        for (const { at, value } of points.get(`cpu${i}`) ?? []) row(at).cpu = value / 100;
        for (const [field] of COUNTS) for (const { at, value } of points.get(`${field}${i}`) ?? []) row(at)[field] += value;
      });
      return bucketWorkersByMinute(rows.values(), start, minutes);
    },
  };
}
