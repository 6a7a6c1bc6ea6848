import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand, type GetMetricDataCommandInput, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { createCacheCounters, type CacheStats } from '../src/cache/cache-stats.js';
import { loadConfig } from '../src/config/config.js';
import type { Db } from '../src/db/database.js';
import { createCloudWatchClient, createCloudWatchSink } from '../src/metrics/cloudwatch-sink.js';
import { createMetricsSink } from '../src/metrics/create-metrics-sink.js';
import type { NodeSample } from '../src/metrics/metrics-sink.js';
import { createStatsPublisher } from '../src/metrics/stats-publisher.js';
import { fakeCloudWatch, type FakeCloudWatchOptions } from './helpers/fake-cloudwatch.js';

const T0 = new Date('2026-01-01T12:00:00.000Z');
const at = (minutes: number, seconds = 0) => new Date(T0.getTime() + minutes * 60_000 + seconds * 1000);
const namespace = 'Emc/Test';

function sample(nodeId: string, when: Date, counts: Partial<NodeSample> = {}): NodeSample {
  return { nodeId, at: when, lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0, evictions: 0, rejected: 0, items: 0, bytes: 0, ...counts };
}

function setup(t: TestContext, now = at(1)) {
  const cloudwatch = new CloudWatchClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(cloudwatch);
  t.after(() => {
    mock.restore();
    cloudwatch.destroy();
  });
  return { mock, sink: createCloudWatchSink({ cloudwatch, namespace, now: () => now }) };
}

const put = (mock: ReturnType<typeof setup>['mock']) => mock.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input);
const nodeLookups = (i: { MetricData?: { MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] }[] }) =>
  i.MetricData!.filter((d) => d.MetricName === 'Lookups' && d.Dimensions![0]!.Name === 'NodeId');
const sentSamples = (mock: ReturnType<typeof setup>['mock']) =>
  put(mock).flatMap((i) => nodeLookups(i).map((d) => `${d.Dimensions![0]!.Value}@${(d as { Value?: number }).Value}`));

describe('CloudWatch sink: publish', () => {
  it('sends nine high-resolution metrics per sample dimensioned by node, and its five counters pool-wide', async (t) => {
    const { mock, sink } = setup(t);
    mock.on(PutMetricDataCommand).resolves({});
    const counts = { lookups: 10, hits: 7, misses: 3, puts: 2, requests: 12, evictions: 1, rejected: 4, items: 5, bytes: 2 ** 33 };
    await sink.publish([sample('node-a', at(0, 5), counts), sample('node-b', at(0, 5))]);

    const [input, ...more] = put(mock);
    assert.equal(more.length, 0);
    assert.equal(input!.Namespace, namespace);
    assert.equal(input!.MetricData!.length, 28);
    assert.deepEqual(input!.MetricData!.slice(0, 9), [
      ['Lookups', 10, 'Count'], ['Hits', 7, 'Count'], ['Misses', 3, 'Count'], ['Puts', 2, 'Count'], ['Requests', 12, 'Count'],
      ['Evictions', 1, 'Count'], ['Rejected', 4, 'Count'], ['Items', 5, 'Count'], ['Bytes', 2 ** 33, 'Bytes'],
    ].map(([MetricName, Value, Unit]) => ({
      MetricName, Value, Unit, Dimensions: [{ Name: 'NodeId', Value: 'node-a' }], Timestamp: at(0, 5), StorageResolution: 1,
    })));
    assert.deepEqual(input!.MetricData!.slice(9, 14), [['Lookups', 10], ['Hits', 7], ['Misses', 3], ['Puts', 2], ['Requests', 12]].map(([MetricName, Value]) => ({
      MetricName, Value, Unit: 'Count', Dimensions: [{ Name: 'Scope', Value: 'pool' }], Timestamp: at(0, 5), StorageResolution: 1,
    })), 'one series for the pool that SEARCH never needs to find');
    assert.deepEqual(input!.MetricData![14]!.Dimensions, [{ Name: 'NodeId', Value: 'node-b' }]);
  });

  it('chunks large publishes into calls of at most 1000 data, whole samples each', async (t) => {
    const { mock, sink } = setup(t);
    mock.on(PutMetricDataCommand).resolves({});
    const samples = Array.from({ length: 250 }, (_, i) => sample(`n${i % 7}`, at(0, i % 50), { lookups: i }));
    await sink.publish(samples);
    assert.deepEqual(put(mock).map((i) => i.MetricData!.length), [994, 994, 994, 37 * 14]);
    assert.deepEqual(sentSamples(mock), samples.map((s) => `${s.nodeId}@${s.lookups}`));
    await sink.publish([]);
    assert.equal(put(mock).length, 4, 'nothing to send, no call');
  });

  it('rejects when a call fails, and a resend skips what already went through', async (t) => {
    const { mock, sink } = setup(t);
    const samples = Array.from({ length: 250 }, (_, i) => sample('a', at(0, i / 10), { lookups: i }));
    // Call counts drive the *Once answers, so history is never reset here; calls are sliced instead.
    mock.on(PutMetricDataCommand).resolvesOnce({}).rejectsOnce(new Error('throttled')).resolves({});
    await assert.rejects(sink.publish(samples), /throttled/);
    assert.equal(put(mock).length, 2);

    const lookupsSince = (call: number) =>
      put(mock).slice(call).flatMap((i) => nodeLookups(i).map((d) => (d as { Value?: number }).Value));
    await sink.publish([...samples, sample('a', at(0, 30), { lookups: 1000 })]);
    assert.deepEqual(lookupsSince(2), [...samples.slice(71).map((s) => s.lookups), 1000]);

    const calls = put(mock).length;
    await sink.publish(samples.slice(0, 1));
    assert.deepEqual(lookupsSince(calls), [0], 'forgotten after a full success');
  });

  it('drops samples CloudWatch would refuse as older than two weeks', async (t) => {
    const { mock, sink } = setup(t, at(15 * 24 * 60));
    mock.on(PutMetricDataCommand).resolves({});
    await sink.publish([sample('a', at(0), { lookups: 1 }), sample('a', at(14 * 24 * 60), { lookups: 2 })]);
    assert.deepEqual(sentSamples(mock), ['a@2']);
  });

  it('lets the stats publisher keep and resend samples while PutMetricData fails', async (t) => {
    const { mock, sink } = setup(t);
    mock.on(PutMetricDataCommand).rejectsOnce(new Error('no route to host')).resolves({});
    const stats: CacheStats = { ...createCacheCounters(), items: 0, bytes: 0, capacityBytes: 1024, policy: 'LRU' };
    let clock = at(0, 5);
    const publisher = createStatsPublisher({ sink, sources: () => [{ nodeId: 'a', stats: () => ({ ...stats }) }], now: () => clock, log: { warn: () => {} } });
    stats.lookups = 4;
    await publisher.publishNow();
    clock = at(0, 10);
    stats.lookups = 10;
    await publisher.publishNow();
    const last = nodeLookups(put(mock).at(-1)!) as { Timestamp?: Date; Value?: number }[];
    assert.deepEqual(last.map((d) => [d.Timestamp, d.Value]), [[at(0, 5), 4], [at(0, 10), 6]]);
  });
});

type Answer = (input: GetMetricDataCommandInput) => { MetricDataResults: MetricDataResult[]; NextToken?: string };
const result = (Id: string, Label: string, points: [Date, number][]): MetricDataResult => ({
  Id, Label, StatusCode: 'Complete', Timestamps: points.map(([d]) => d), Values: points.map(([, v]) => v),
});

function answering(t: TestContext, answer: Answer, now = at(1)) {
  const { mock, sink } = setup(t, now);
  mock.on(GetMetricDataCommand).callsFake(answer);
  const inputs = () => mock.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
  return { sink, inputs };
}

describe('CloudWatch sink: totals', () => {
  it('sums the pool-wide series and weights rates by lookups', async (t) => {
    const { sink, inputs } = answering(t, ({ NextToken }) =>
      NextToken
        ? { MetricDataResults: [result('lookups', 'lookups', [[at(0, 40), 90]]), result('hits', 'hits', [[at(0, 40), 90]])] }
        : {
            NextToken: 'page-2',
            MetricDataResults: [
              result('lookups', 'lookups', [[at(0, 5), 4], [at(0, 10), 6]]),
              result('hits', 'hits', [[at(0, 10), 1]]),
              result('misses', 'misses', [[at(0, 5), 4], [at(0, 10), 5]]),
              result('puts', 'puts', [[at(0, 5), 3]]),
              result('requests', 'requests', [[at(0, 5), 103]]),
            ],
          },
    );
    assert.deepEqual(await sink.totals(at(0), at(1)), { reported: true, lookups: 100, hits: 91, misses: 9, puts: 3, requests: 103, missRate: 0.09, hitRate: 0.91 });

    const [first, second] = inputs();
    assert.deepEqual(first!.MetricDataQueries!, ['Lookups', 'Hits', 'Misses', 'Puts', 'Requests'].map((MetricName) => ({
      Id: MetricName.toLowerCase(), MetricStat: { Metric: { Namespace: namespace, MetricName, Dimensions: [{ Name: 'Scope', Value: 'pool' }] }, Period: 1, Stat: 'Sum' },
    })));
    assert.deepEqual([first!.StartTime, first!.EndTime], [at(0), at(1)]);
    assert.equal(second!.NextToken, 'page-2');
  });

  it('tells a window nobody reported in from an idle one, and rounds old windows up to whole minutes', async (t) => {
    const { sink, inputs } = answering(t, () => ({ MetricDataResults: [] }), at(24 * 60));
    const zero = { lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0, missRate: 0, hitRate: 0 };
    assert.deepEqual(await sink.totals(at(0), at(1, 30)), { reported: false, ...zero });
    assert.equal(inputs()[0]!.MetricDataQueries![0]!.MetricStat!.Period, 120);
    assert.deepEqual(await sink.totals(at(1), at(1)), { reported: false, ...zero });
    assert.equal(inputs().length, 1, 'an empty window needs no query');
  });

  it('reads nodes that reported zeros as an idle window', async (t) => {
    const { sink } = answering(t, () => ({ MetricDataResults: [result('lookups', 'lookups', [[at(0, 5), 0]]), result('requests', 'requests', [[at(0, 5), 0]])] }));
    assert.deepEqual(await sink.totals(at(0), at(1)), { reported: true, lookups: 0, hits: 0, misses: 0, puts: 0, requests: 0, missRate: 0, hitRate: 0 });
  });

  it('fails rather than reading a failed query as idle', async (t) => {
    const { sink } = answering(t, () => ({
      MetricDataResults: [{ Id: 'misses', StatusCode: 'InternalError', Messages: [{ Code: 'InternalError', Value: 'boom' }] }],
    }));
    await assert.rejects(sink.totals(at(0), at(1)), /could not compute misses \(InternalError\) InternalError: boom/);
  });
});

describe('CloudWatch sink: totals as CloudWatch answers them', () => {
  function modelled(t: TestContext, options: Omit<FakeCloudWatchOptions, 'now'> = {}) {
    const clock = { now: at(0) };
    const fake = fakeCloudWatch({ now: () => clock.now, ...options });
    t.after(() => fake.close());
    return { clock, sink: createCloudWatchSink({ cloudwatch: fake.cloudwatch, namespace, now: () => clock.now }) };
  }

  it('counts only the window: the points CloudWatch returns from the minute-rounded StartTime are dropped', async (t) => {
    const { clock, sink } = modelled(t);
    await sink.publish([sample('a', at(0, 10), { lookups: 100, misses: 100 }), sample('a', at(1, 0), { lookups: 100, hits: 100 })]);
    clock.now = at(2);
    const totals = await sink.totals(at(0, 30), at(1, 30));
    assert.deepEqual([totals.lookups, totals.misses, totals.hits], [100, 0, 100], 'the point at 0:10 lies before the window');
    assert.equal((await sink.totals(at(1, 1), at(1, 30))).reported, false, 'nor a point one second early');
  });

  it('counts a node that just joined at once, while SEARCH cannot see its series yet', async (t) => {
    const { clock, sink } = modelled(t, { listingLagMs: 15 * 60_000 });
    clock.now = at(0);
    await sink.publish([sample('old', at(0), { lookups: 1 })]);
    clock.now = at(20);
    await sink.publish([sample('old', at(19, 10), { lookups: 100, misses: 5 }), sample('new', at(19, 20), { lookups: 100, misses: 60 })]);
    const totals = await sink.totals(at(19), at(20));
    assert.deepEqual([totals.lookups, totals.misses], [200, 65]);
  });

  it('declares how long its points may take to be readable, and an earlier read misses them', async (t) => {
    const { clock, sink } = modelled(t, { arrivalLagMs: 30_000 });
    assert.equal(sink.readLagMs, 120_000);
    clock.now = at(1);
    await sink.publish([sample('a', at(0, 55), { lookups: 7 })]);
    assert.equal((await sink.totals(at(0), at(1))).reported, false, 'not readable yet: no report, never an idle pool');
    clock.now = new Date(at(0, 55).getTime() + sink.readLagMs!);
    assert.equal((await sink.totals(at(0), at(1))).lookups, 7);
  });
});

describe('CloudWatch sink: series', () => {
  const gap = { nodes: null, lookups: null, hits: null, misses: null, missRate: null, hitRate: null, items: null, bytes: null, requests: null };

  it('returns one point per minute, gaps where no node has data, nodes counted per minute', async (t) => {
    const { sink, inputs } = answering(t, ({ NextToken }) =>
      NextToken === undefined
        ? {
            NextToken: 't1',
            MetricDataResults: [
              result('lookups', 'a', [[at(0), 10]]),
              result('lookups', 'b', [[at(0), 90]]),
              result('misses', 'a', [[at(0), 9]]),
              result('hits', 'a', [[at(0), 1]]),
              result('hits', 'b', [[at(0), 90]]),
            ],
          }
        : {
            MetricDataResults: [
              result('lookups', 'a', [[at(2), 0]]),
              result('lookups', 'c', [[at(29), 2]]),
              result('misses', 'c', [[at(29), 1]]),
              result('hits', 'c', [[at(29), 1]]),
              result('requests', 'a', [[at(0), 12], [at(2), 4]]),
              result('requests', 'b', [[at(0), 95]]),
              result('requests', 'c', [[at(29), 2]]),
              result('items', 'a', [[at(0), 3], [at(2), 5]]),
              result('items', 'b', [[at(0), 7]]),
              result('items', 'c', [[at(29), 1]]),
              result('bytes', 'a', [[at(0), 300], [at(2), 500]]),
              result('bytes', 'b', [[at(0), 700]]),
              result('bytes', 'c', [[at(29), 10]]),
            ],
          },
      at(30),
    );
    const points = await sink.series(at(0, 42), 30);
    assert.equal(points.length, 30);
    assert.deepEqual(points.map((p) => p.at), Array.from({ length: 30 }, (_, i) => at(i)));
    assert.deepEqual(points[0], {
      at: at(0), nodes: 2, lookups: 100, hits: 91, misses: 9, missRate: 0.09, hitRate: 0.91, items: 10, bytes: 1000, requests: 107,
    });
    assert.deepEqual(points[1], { at: at(1), ...gap });
    assert.deepEqual(points[2], { at: at(2), nodes: 1, lookups: 0, hits: 0, misses: 0, missRate: 0, hitRate: 0, items: 5, bytes: 500, requests: 4 });
    assert.deepEqual(points[29], { at: at(29), nodes: 1, lookups: 2, hits: 1, misses: 1, missRate: 0.5, hitRate: 0.5, items: 1, bytes: 10, requests: 2 });
    assert.ok(points.slice(3, 29).every((p) => p.nodes === null), 'every other minute is a gap');

    const [first, second] = inputs();
    assert.equal(second!.NextToken, 't1');
    assert.deepEqual([first!.StartTime, first!.EndTime], [at(0), at(30)]);
    assert.deepEqual(first!.MetricDataQueries!.map((q) => [q.Id, q.Expression, q.Label]), [
      ['lookups', `SEARCH('{"Emc/Test",NodeId} MetricName="Lookups"', 'Sum', 60)`, "${PROP('Dim.NodeId')}"],
      ['hits', `SEARCH('{"Emc/Test",NodeId} MetricName="Hits"', 'Sum', 60)`, "${PROP('Dim.NodeId')}"],
      ['misses', `SEARCH('{"Emc/Test",NodeId} MetricName="Misses"', 'Sum', 60)`, "${PROP('Dim.NodeId')}"],
      ['requests', `SEARCH('{"Emc/Test",NodeId} MetricName="Requests"', 'Sum', 60)`, "${PROP('Dim.NodeId')}"],
      ['items', `SEARCH('{"Emc/Test",NodeId} MetricName="Items"', 'Maximum', 60)`, "${PROP('Dim.NodeId')}"],
      ['bytes', `SEARCH('{"Emc/Test",NodeId} MetricName="Bytes"', 'Maximum', 60)`, "${PROP('Dim.NodeId')}"],
    ]);
  });

  it('is all gaps when CloudWatch has nothing, and asks nothing for zero minutes', async (t) => {
    const { sink, inputs } = answering(t, () => ({ MetricDataResults: [result('lookups', 'a', [])] }));
    assert.deepEqual(await sink.series(at(0), 3), [0, 1, 2].map((i) => ({ at: at(i), ...gap })));
    assert.deepEqual(await sink.series(at(0), 0), []);
    await assert.rejects(sink.series(at(0), 1.5), RangeError);
    assert.equal(inputs().length, 1);
  });
});

describe('metrics sink selection', () => {
  it('EMC_METRICS=cloudwatch publishes to the configured namespace on a client of its own', async (t) => {
    // Mocking the class reaches the client the factory builds on the default chain.
    const mock = mockClient(CloudWatchClient);
    t.after(() => mock.restore());
    mock.on(PutMetricDataCommand).resolves({});
    const config = loadConfig({ EMC_LOG_LEVEL: 'silent', EMC_METRICS: 'cloudwatch', EMC_CW_NAMESPACE: 'Emc/Selected' });
    const sink = await createMetricsSink(config.metrics, { db: {} as Db, log: { warn: () => {} } });
    await sink.publish([sample('a', new Date(), { lookups: 1 })]);
    assert.equal(mock.commandCalls(PutMetricDataCommand)[0]!.args[0].input.Namespace, 'Emc/Selected');
    await sink.close();
  });

  it('createCloudWatchClient builds a client without credentials or region in code', () => {
    const client = createCloudWatchClient();
    assert.ok(client instanceof CloudWatchClient);
    client.destroy();
  });
});
