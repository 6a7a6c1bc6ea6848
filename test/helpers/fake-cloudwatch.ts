import {
  CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataResult,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';

type StoredPoint = { name: string; nodeId: string | undefined; at: number; value: number; readableAt: number };

export type FakeCloudWatchOptions = {
  now: () => Date;
  /** How long after PutMetricData a point becomes readable. */
  arrivalLagMs?: number;
  /** How long after its first point a new per-node series becomes visible to SEARCH (up to 15 min on AWS). */
  listingLagMs?: number;
};

const SEARCH = /^SUM\(SEARCH\('\{"[^"]+",NodeId\} MetricName="(\w+)"', 'Sum', (\d+)\)\)$/;
const FIFTEEN_DAYS_MS = 15 * 24 * 3600_000;

/**
 * CloudWatch's GetMetricData as documented, where moto does not model it: a StartTime younger
 * than 15 days is rounded down to the whole minute (to 5/10/20/30 s only for those periods),
 * points arrive late, and SEARCH finds a new series only once it is listed. Answers MetricStat
 * queries on the Scope=pool series and SUM(SEARCH()) over the NodeId series.
 */
export function fakeCloudWatch({ now, arrivalLagMs = 0, listingLagMs = 0 }: FakeCloudWatchOptions) {
  const cloudwatch = new CloudWatchClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(cloudwatch);
  const points: StoredPoint[] = [];
  const firstSeen = new Map<string, number>();

  mock.on(PutMetricDataCommand).callsFake(({ MetricData = [] }: PutMetricDataCommandInput) => {
    for (const d of MetricData) {
      const nodeId = d.Dimensions?.find((x) => x.Name === 'NodeId')?.Value;
      if (nodeId === undefined && d.Dimensions?.[0]?.Name !== 'Scope') throw new Error(`fake CloudWatch: unexpected dimensions ${JSON.stringify(d.Dimensions)}`);
      const at = new Date(d.Timestamp!).getTime();
      points.push({ name: d.MetricName!, nodeId, at, value: d.Value!, readableAt: now().getTime() + arrivalLagMs });
      if (nodeId !== undefined && !firstSeen.has(`${d.MetricName}\0${nodeId}`)) firstSeen.set(`${d.MetricName}\0${nodeId}`, now().getTime());
    }
    return {};
  });

  mock.on(GetMetricDataCommand).callsFake(({ MetricDataQueries = [], StartTime, EndTime }: GetMetricDataCommandInput) => {
    const end = new Date(EndTime!).getTime();
    const results: MetricDataResult[] = MetricDataQueries.map((q) => {
      const search = q.Expression?.match(SEARCH);
      const name = search?.[1] ?? q.MetricStat?.Metric?.MetricName;
      const period = Number(search?.[2] ?? q.MetricStat?.Period);
      const scoped = q.MetricStat?.Metric?.Dimensions?.[0]?.Name === 'Scope';
      if (!name || !period || (!search && !scoped)) throw new Error(`fake CloudWatch cannot answer ${JSON.stringify(q)}`);
      const requested = new Date(StartTime!).getTime();
      const grain = now().getTime() - requested < FIFTEEN_DAYS_MS && ![5, 10, 20, 30].includes(period) ? 60_000 : period * 1000;
      const start = Math.floor(requested / grain) * grain;
      const visible = (p: StoredPoint) =>
        search ? p.nodeId !== undefined && firstSeen.get(`${p.name}\0${p.nodeId}`)! + listingLagMs <= now().getTime() : p.nodeId === undefined;
      const sums = new Map<number, number>();
      for (const p of points) {
        if (p.name !== name || p.at < start || p.at >= end || p.readableAt > now().getTime() || !visible(p)) continue;
        const bucket = start + Math.floor((p.at - start) / (period * 1000)) * period * 1000;
        sums.set(bucket, (sums.get(bucket) ?? 0) + p.value);
      }
      const buckets = [...sums.keys()].sort((a, b) => a - b);
      return { Id: q.Id, Label: name, StatusCode: 'Complete', Timestamps: buckets.map((b) => new Date(b)), Values: buckets.map((b) => sums.get(b)!) };
    });
    return { MetricDataResults: results };
  });

  return {
    cloudwatch,
    mock,
    close() {
      mock.restore();
      cloudwatch.destroy();
    },
  };
}
