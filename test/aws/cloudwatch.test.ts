import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { createCloudWatchClient, createCloudWatchSink } from '../../src/metrics/cloudwatch-sink.js';
import type { NodeSample } from '../../src/metrics/metrics-sink.js';
import { decide } from '../../src/scaling/scaler-policy.js';
import { useMoto } from '../helpers/moto.js';

const moto = useMoto({ before, after });
beforeEach(() => moto().reset());
const namespace = 'Emc/Aws';

function sample(nodeId: string, at: Date, counts: Partial<NodeSample> = {}): NodeSample {
  return { nodeId, at, lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0, evictions: 0, rejected: 0, items: 0, bytes: 0, ...counts };
}

/** The project's own client, on the SDK's default chain that useMoto pointed at moto. */
function client(t: TestContext) {
  const cloudwatch = createCloudWatchClient();
  t.after(() => cloudwatch.destroy());
  return cloudwatch;
}

describe('CloudWatch sink against moto', () => {
  it('publishes per-node and pool-wide series that CloudWatch stores as sent', async (t) => {
    const cloudwatch = client(t);
    const sink = createCloudWatchSink({ cloudwatch, namespace });
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000);
    // More than one PutMetricData call (71 samples each): chunking and the compression setting both matter here.
    const samples = Array.from({ length: 150 }, (_, i) => sample(`node-${i % 3}`, new Date(at.getTime() + i * 100), { lookups: 2, misses: 1, hits: 1, requests: 2 }));
    await sink.publish(samples);

    const { Metrics = [] } = await cloudwatch.send(new ListMetricsCommand({ Namespace: namespace, MetricName: 'Lookups' }));
    // moto lists a metric once per stored datum; CloudWatch once: compare the distinct ones.
    const dimensions = [...new Set(Metrics.map((m) => (m.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(',')))].sort();
    assert.deepEqual(dimensions, ['NodeId=node-0', 'NodeId=node-1', 'NodeId=node-2', 'Scope=pool']);

    const { MetricDataResults = [] } = await cloudwatch.send(new GetMetricDataCommand({
      StartTime: new Date(at.getTime() - 60_000),
      EndTime: new Date(),
      MetricDataQueries: [{ Id: 'node1', MetricStat: { Metric: { Namespace: namespace, MetricName: 'Misses', Dimensions: [{ Name: 'NodeId', Value: 'node-1' }] }, Period: 60, Stat: 'Sum' } }],
    }));
    assert.equal(MetricDataResults[0]!.Values!.reduce((a, b) => a + b, 0), 50, "node-1's 50 samples, one miss each");
  });

  it('totals read the pool-wide series back; SEARCH (unanswered by moto) leaves the charts with gaps, never zeros', async (t) => {
    const cloudwatch = client(t);
    const sink = createCloudWatchSink({ cloudwatch, namespace });
    const from = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
    await sink.publish([sample('a', new Date(from.getTime() + 5_000), { lookups: 10, misses: 4 }), sample('b', new Date(from.getTime() + 7_000), { lookups: 30, misses: 2 })]);
    const totals = await sink.totals(from, new Date(from.getTime() + 60_000));
    assert.deepEqual([totals.reported, totals.lookups, totals.misses], [true, 40, 6]);

    const points = await sink.series(from, 2);
    assert.deepEqual(points.map((p) => [p.nodes, p.lookups, p.missRate]), [[null, null, null], [null, null, null]]);
  });

  it('a window with nothing readable is "no report", and the scaler keeps the size instead of shrinking an idle-looking pool', async (t) => {
    const sink = createCloudWatchSink({ cloudwatch: client(t), namespace });
    const to = new Date();
    const window = await sink.totals(new Date(to.getTime() - 60_000), to);
    assert.deepEqual([window.reported, window.lookups], [false, 0]);
    const policy = { mode: 'auto', maxMissRate: 0.2, minMissRate: 0.1, expandRatio: 2, shrinkRatio: 0.5 } as const;
    const decision = decide({ policy, nodes: 4, minNodes: 1, maxNodes: 8, window, fullWindow: true });
    assert.equal(decision.target, 4, decision.reason);
    assert.match(decision.reason, /no node statistics arrived/);
  });
});
