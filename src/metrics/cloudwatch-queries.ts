import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';

/** The one dimension every datum carries; SEARCH finds the per-node series by it. */
export const NODE_DIMENSION = 'NodeId';

/** High-resolution data keeps its 1-second points this long; older data is rolled up to minutes. */
export const HIGH_RESOLUTION_MS = 3 * 60 * 60_000;

export type Statistic = 'Sum' | 'Maximum';

/**
 * SEARCH over the per-node series of one metric. Namespaces may contain "/" or ".", so the
 * schema quotes it; config restricts it to characters that need no escaping inside the quotes.
 */
export function searchNodes(namespace: string, metricName: string, statistic: Statistic, periodSeconds: number): string {
  return `SEARCH('{"${namespace}",${NODE_DIMENSION}} MetricName="${metricName}"', '${statistic}', ${periodSeconds})`;
}

/** The dimension of the pool-wide series: one value, so the series exists from the pool's first publish. */
export const POOL_DIMENSION = { Name: 'Scope', Value: 'pool' } as const;

/**
 * The pool-wide series of one counter, published beside the per-node ones. Unlike SEARCH it
 * names one metric that exists since the pool's first publish, so a node that just joined
 * counts at once: SEARCH finds a new per-node series only once CloudWatch lists it, which can
 * take up to 15 minutes (PutMetricData's documentation).
 */
export function poolTotalQuery(id: string, namespace: string, metricName: string, periodSeconds: number): MetricDataQuery {
  return { Id: id, MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: [POOL_DIMENSION] }, Period: periodSeconds, Stat: 'Sum' } };
}

/**
 * The period for a totals window: 1 s while high-resolution points exist; afterwards the
 * whole window rounded up to minutes, the finest grain CloudWatch still has.
 */
export function totalsPeriodSeconds(from: Date, to: Date, now: Date): number {
  if (now.getTime() - from.getTime() < HIGH_RESOLUTION_MS) return 1;
  return Math.max(60, Math.ceil((to.getTime() - from.getTime()) / 60_000) * 60);
}

/**
 * Where a totals window's points start. GetMetricData rounds a StartTime younger than 15 days
 * down to the whole minute (finer only for 5/10/20/30 s periods), so it returns up to 59 s
 * before `from`: with 1 s points they are dropped by timestamp, making the edge exact; a
 * minute-grain window (older than 3 h) starts at the minute holding `from`.
 */
export function totalsStart(from: Date, periodSeconds: number): number {
  return periodSeconds === 1 ? from.getTime() : Math.floor(from.getTime() / 60_000) * 60_000;
}

/** One returned time series: a query's Id and the series' label (a node id for per-node searches). */
export type Series = { id: string; label: string; points: { at: Date; value: number }[] };

/**
 * Runs GetMetricData to the last page. A series can continue on the next page, so
 * pages are merged by (Id, Label). Results CloudWatch could not compute are errors:
 * a silently missing series would read as an idle pool.
 */
export async function fetchSeries(
  cloudwatch: CloudWatchClient,
  queries: MetricDataQuery[],
  startTime: Date,
  endTime: Date,
): Promise<Series[]> {
  const merged = new Map<string, Series>();
  let token: string | undefined;
  do {
    const page = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: startTime,
        EndTime: endTime,
        ScanBy: 'TimestampAscending',
        NextToken: token,
      }),
    );
    for (const result of page.MetricDataResults ?? []) {
      if (result.StatusCode === 'InternalError' || result.StatusCode === 'Forbidden') {
        const detail = result.Messages?.map((m) => `${m.Code}: ${m.Value}`).join('; ') ?? '';
        throw new Error(`CloudWatch could not compute ${result.Id} (${result.StatusCode}) ${detail}`.trim());
      }
      const id = result.Id ?? '';
      const label = result.Label ?? '';
      const key = `${id}\0${label}`;
      const series = merged.get(key) ?? { id, label, points: [] };
      merged.set(key, series);
      const values = result.Values ?? [];
      (result.Timestamps ?? []).forEach((at, i) => {
        const value = values[i];
        if (value !== undefined) series.points.push({ at: new Date(at), value });
      });
    }
    token = page.NextToken;
  } while (token);
  return [...merged.values()];
}
