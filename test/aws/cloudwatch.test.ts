import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { GetMetricDataCommand, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { createCloudWatchClient, createCloudWatchSink } from '../../src/metrics/cloudwatch-sink.js';
import type { NodeSample } from '../../src/metrics/metrics-sink.js';
import { decide } from '../../src/scaling/scaler-policy.js';
import { decideWorkers } from '../../src/scaling/worker-policy.js';
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

describe('CloudWatch worker statistics against moto', () => {
  const minute = (at: Date) => new Date(Math.floor(at.getTime() / 60_000) * 60_000);

  it('publishes requests and bytes per WorkerId, and CPU only for a worker without an instance of its own', async (t) => {
    const cloudwatch = client(t);
    const sink = createCloudWatchSink({ cloudwatch, namespace });
    const at = new Date(Date.now() - 30_000);
    await sink.publishWorkers([
      { workerId: 'worker-1', at, cpu: 0.25, requests: 7, bytesIn: 700, bytesOut: 7000 },
      { workerId: 'worker-2', at, cpu: 0.9, requests: 1, bytesIn: 10, bytesOut: 100, instanceId: 'i-0abc' },
    ]);
    const { Metrics = [] } = await cloudwatch.send(new ListMetricsCommand({ Namespace: namespace }));
    const listed = [...new Set(Metrics.map((m) => `${m.MetricName} ${(m.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(',')}`))].sort();
    assert.deepEqual(listed, [
      'WorkerBytesIn WorkerId=worker-1',
      'WorkerBytesIn WorkerId=worker-2',
      'WorkerBytesOut WorkerId=worker-1',
      'WorkerBytesOut WorkerId=worker-2',
      'WorkerCPUUtilization WorkerId=worker-1',
      'WorkerRequests WorkerId=worker-1',
      'WorkerRequests WorkerId=worker-2',
    ]);
  });

  it('reads CPU from the worker’s own metric or from AWS/EC2 CPUUtilization by InstanceId, and the per-minute series', async (t) => {
    const cloudwatch = client(t);
    const workers = [
      { workerId: 'worker-1', instanceId: null },
      { workerId: 'worker-2', instanceId: 'i-0abc' },
      { workerId: 'worker-3', instanceId: null },
    ];
    const sink = createCloudWatchSink({ cloudwatch, namespace, workers: async () => workers });
    const start = new Date(minute(new Date()).getTime() - 3 * 60_000);
    const at = (m: number, s: number) => new Date(start.getTime() + m * 60_000 + s * 1000);
    await sink.publishWorkers([
      { workerId: 'worker-1', at: at(0, 10), cpu: 0.2, requests: 5, bytesIn: 50, bytesOut: 500 },
      { workerId: 'worker-1', at: at(0, 40), cpu: 0.4, requests: 6, bytesIn: 60, bytesOut: 600 },
      { workerId: 'worker-2', at: at(0, 20), cpu: 0.99, requests: 2, bytesIn: 20, bytesOut: 200, instanceId: 'i-0abc' },
      { workerId: 'worker-1', at: at(2, 5), cpu: 0.5, requests: 1, bytesIn: 1, bytesOut: 1 },
    ]);
    // EC2's own metric, as EC2 publishes it for the instance (moto stores what it is sent, whatever the namespace).
    await cloudwatch.send(new PutMetricDataCommand({
      Namespace: 'AWS/EC2',
      MetricData: [{ MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: 'i-0abc' }], Timestamp: at(0, 30), Value: 60, Unit: 'Percent' }],
    }));

    const window = await sink.workerWindow(at(0, 0), at(1, 0));
    assert.deepEqual({ ...window, cpu: Number(window.cpu.toFixed(6)) }, { reported: true, cpu: 0.45, workers: 2 }, 'worker-3 never reported');

    const points = await sink.workerSeries(at(0, 30), at(3, 0));
    assert.deepEqual(points.map((p) => ({ ...p, cpu: p.cpu === null ? null : Number(p.cpu.toFixed(6)) })), [
      { at: at(0, 0), workers: 2, cpu: 0.45, requests: 13, bytesIn: 130, bytesOut: 1300 },
      { at: at(1, 0), workers: 0, cpu: null, requests: null, bytesIn: null, bytesOut: null },
      { at: at(2, 0), workers: 1, cpu: 0.5, requests: 1, bytesIn: 1, bytesOut: 1 },
    ]);
    const one = await sink.workerSeries(at(0, 0), at(1, 0), 'worker-2');
    assert.deepEqual(one, [{ at: at(0, 0), workers: 1, cpu: 0.6, requests: 2, bytesIn: 20, bytesOut: 200 }]);
  });

  it('a window without worker points is "no report", and the web pool keeps its size', async (t) => {
    const sink = createCloudWatchSink({ cloudwatch: client(t), namespace, workers: async () => [{ workerId: 'worker-1', instanceId: 'i-0def' }] });
    const to = new Date();
    const window = await sink.workerWindow(new Date(to.getTime() - 120_000), to);
    assert.deepEqual(window, { reported: false, cpu: 0, workers: 0 });
    const policy = { mode: 'auto', growCpu: 0.7, shrinkCpu: 0.2, growRatio: 1.5, shrinkRatio: 0.5, cooldownS: 300 } as const;
    const decision = decideWorkers({ policy, workers: 4, minWorkers: 1, maxWorkers: 8, window, windowMs: 120_000, msSinceResize: undefined });
    assert.equal(decision.target, 4, decision.reason);
  });
});

