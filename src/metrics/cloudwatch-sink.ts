import { CloudWatchClient, PutMetricDataCommand, type MetricDatum, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { hitRate, missRate } from '../cache/cache-stats.js';
import { fetchSeries, NODE_DIMENSION, POOL_DIMENSION, poolTotalQuery, searchNodes, totalsPeriodSeconds, totalsStart, type Statistic } from './cloudwatch-queries.js';
import { createCloudWatchWorkerStats, type CloudWatchWorkerStatsDeps } from './cloudwatch-worker-stats.js';
import type { MetricsSink, NodeSample, WindowTotals } from './metrics-sink.js';
import { bucketByMinute, floorToMinute, MINUTE_MS } from './minute-series.js';

/** PutMetricData takes at most this many data per call. */
export const MAX_DATA_PER_CALL = 1000;
/** CloudWatch refuses data older than this; resending them would fail every publish forever. */
const MAX_AGE_MS = 14 * 24 * 60 * MINUTE_MS;
/**
 * How long after its timestamp a published point may still be unreadable. CloudWatch documents
 * no bound for GetMetricData; 2 minutes covers the manager's publish interval (5 s by default)
 * and the ingestion delay seen in practice. The smoke script in deploy/ measures it on an account.
 */
export const CLOUDWATCH_READ_LAG_MS = 2 * MINUTE_MS;

const METRICS = [
  ['Lookups', 'lookups', 'Count'],
  ['Hits', 'hits', 'Count'],
  ['Misses', 'misses', 'Count'],
  ['Puts', 'puts', 'Count'],
  ['Requests', 'requests', 'Count'],
  ['Evictions', 'evictions', 'Count'],
  ['Rejected', 'rejected', 'Count'],
  ['Items', 'items', 'Count'],
  ['Bytes', 'bytes', 'Bytes'],
] as const satisfies readonly (readonly [string, keyof NodeSample, StandardUnit])[];

/** Counted pool-wide as well (dimension Scope=pool), for totals that need no SEARCH. */
const TOTALS = [['lookups', 'Lookups'], ['hits', 'Hits'], ['misses', 'Misses'], ['puts', 'Puts'], ['requests', 'Requests']] as const;
const SERIES = [
  ['lookups', 'Lookups', 'Sum'],
  ['hits', 'Hits', 'Sum'],
  ['misses', 'Misses', 'Sum'],
  ['requests', 'Requests', 'Sum'],
  // CloudWatch has no "last value" statistic; a gauge's peak within the minute stands in for it.
  ['items', 'Items', 'Maximum'],
  ['bytes', 'Bytes', 'Maximum'],
] as const satisfies readonly (readonly [string, string, Statistic])[];

export type CloudWatchSinkDeps = {
  /** Not closed by the sink: it belongs to whoever created it. */
  cloudwatch: CloudWatchClient;
  namespace: string;
  now?: () => Date;
  /** The web pool's workers, for reading their statistics (see createCloudWatchWorkerStats). */
  workers?: CloudWatchWorkerStatsDeps['workers'];
};

type Row = Pick<NodeSample, 'nodeId' | 'at' | 'lookups' | 'hits' | 'misses' | 'requests' | 'items' | 'bytes'>;

const sampleKey = (s: NodeSample) => `${s.nodeId}\0${s.at.getTime()}`;

function toData(s: NodeSample): MetricDatum[] {
  const datum = (MetricName: string, Value: number, Unit: StandardUnit, dimension: { Name: string; Value: string }): MetricDatum => ({
    MetricName,
    Dimensions: [dimension],
    Timestamp: s.at,
    Value,
    Unit,
    StorageResolution: 1,
  });
  const node = { Name: NODE_DIMENSION, Value: s.nodeId };
  return [
    ...METRICS.map(([name, field, unit]) => datum(name, s[field], unit, node)),
    ...TOTALS.map(([field, name]) => datum(name, s[field], 'Count', POOL_DIMENSION)),
  ];
}

const DATA_PER_SAMPLE = METRICS.length + TOTALS.length;

/**
 * Worker statistics: see createCloudWatchWorkerStats.
 *
 * Node statistics as high-resolution custom metrics, one series per metric and node, and the
 * counters once more pool-wide (Scope=pool) for the scaler's totals.
 *
 * A publish larger than one call is sent in chunks of whole samples, in order, stopping at
 * the first failure. The stats publisher resends a failed batch, and CloudWatch would add a
 * resent datum to the one already stored (doubling counts), so the sink remembers which
 * samples went through in a failed publish and skips them when they come back; the memory
 * is dropped after the next publish that fully succeeds. Publishes must not overlap (the
 * stats publisher never overlaps its ticks).
 */
export function createCloudWatchSink({ cloudwatch, namespace, now = () => new Date(), workers }: CloudWatchSinkDeps): MetricsSink {
  const perCall = Math.floor(MAX_DATA_PER_CALL / DATA_PER_SAMPLE);
  let delivered = new Set<string>();

  return {
    readLagMs: CLOUDWATCH_READ_LAG_MS,
    ...createCloudWatchWorkerStats({ cloudwatch, namespace, workers }),

    async publish(samples) {
      const oldest = now().getTime() - MAX_AGE_MS;
      const pending = samples.filter((s) => s.at.getTime() > oldest && !delivered.has(sampleKey(s)));
      for (let i = 0; i < pending.length; i += perCall) {
        const chunk = pending.slice(i, i + perCall);
        await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: chunk.flatMap(toData) }));
        for (const s of chunk) delivered.add(sampleKey(s));
      }
      delivered = new Set();
    },

    async totals(from, to): Promise<WindowTotals> {
      const counts = { lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0 };
      // Every publish sends Lookups, 0 when idle: a window without one point had no report.
      let reported = false;
      if (to.getTime() > from.getTime()) {
        const period = totalsPeriodSeconds(from, to, now());
        const start = totalsStart(from, period);
        const queries = TOTALS.map(([id, metric]) => poolTotalQuery(id, namespace, metric, period));
        for (const series of await fetchSeries(cloudwatch, queries, from, to)) {
          const field = TOTALS.find(([id]) => id === series.id)?.[0];
          if (!field) continue;
          const inWindow = series.points.filter(({ at }) => at.getTime() >= start && at.getTime() < to.getTime());
          for (const point of inWindow) counts[field] += point.value;
          if (field === 'lookups' && inWindow.length > 0) reported = true;
        }
      }
      return { reported, ...counts, missRate: missRate(counts), hitRate: hitRate(counts) };
    },

    async series(from, minutes) {
      const start = floorToMinute(from);
      // Nothing to ask for: [] for 0 minutes, bucketByMinute's RangeError for a bad count.
      if (!Number.isInteger(minutes) || minutes <= 0) return bucketByMinute([], start, minutes);
      const end = new Date(start.getTime() + minutes * MINUTE_MS);
      const queries = SERIES.map(([id, metric, statistic]) => ({
        Id: id,
        Expression: searchNodes(namespace, metric, statistic, 60),
        // One series per node, labelled with its id so points can be regrouped by node.
        Label: `\${PROP('Dim.${NODE_DIMENSION}')}`,
      }));
      // One row per node and minute in which it has any point: exactly the DB sink's rows, pre-summed.
      const rows = new Map<string, Row>();
      for (const series of await fetchSeries(cloudwatch, queries, start, end)) {
        const field = SERIES.find(([id]) => id === series.id)?.[0];
        if (!field) continue;
        for (const { at, value } of series.points) {
          const key = `${series.label}\0${at.getTime()}`;
          let row = rows.get(key);
          if (!row) {
            row = { nodeId: series.label, at, lookups: 0, hits: 0, misses: 0, requests: 0, items: 0, bytes: 0 };
            rows.set(key, row);
          }
          row[field] += value;
        }
      }
      return bucketByMinute(rows.values(), start, minutes);
    },

    async close() {},
  };
}

/** A client on the SDK's default credential and region chain; nothing of either lives in code. */
export function createCloudWatchClient(): CloudWatchClient {
  return new CloudWatchClient({});
}
