import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createEc2Provider, type Ec2ProviderOptions } from '../src/scaling/ec2-provider.js';
import { awsError, fakeEc2, type FakeEc2Options, type FakeInstance } from './helpers/fake-ec2.js';

const member = (id: string, state: FakeInstance['state'], ip: string, node?: string): FakeInstance => ({
  id,
  state,
  tags: { 'emc:pool': 'main', ...(node ? { 'emc:node': node } : {}) },
  privateIp: ip,
  publicIp: `203.0.113.${ip.split('.').at(-1)}`,
});

/** What deploy/AWS.md requires of the cache launch template. */
const completeTemplate = {
  InstanceType: 't4g.small' as const,
  NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0abc', Groups: ['sg-0cache'] }],
  MetadataOptions: { HttpTokens: 'required' as const },
};

function setup(t: TestContext, instances: FakeInstance[], options: Partial<Ec2ProviderOptions> = {}, account: FakeEc2Options = {}) {
  const fake = fakeEc2(instances, { pageSize: 1, templates: { 'emc-cache': completeTemplate }, ...account });
  const sleeps: number[] = [];
  const probes: string[] = [];
  const warnings: string[] = [];
  const ignore = () => {};
  const provider = createEc2Provider({
    ec2: fake.ec2,
    poolTag: 'main',
    address: 'private',
    nodePort: 5001,
    pollMs: 1,
    healthTimeoutMs: 2000,
    log: { info: ignore, error: ignore, warn: (_obj: unknown, msg?: string) => void warnings.push(msg ?? '') },
    // Recorded, and real but tiny, so polling loops still yield to timers.
    sleep: async (ms) => {
      sleeps.push(ms);
      await delay(1);
    },
    fetchHealth: async (url) => {
      probes.push(url);
      // A node answers only once its instance runs.
      return instances.some((i) => i.state === 'running' && url.includes(`//${i.privateIp}:`));
    },
    ...options,
  });
  t.after(async () => {
    await provider.close();
    fake.mock.restore();
  });
  return { ...fake, provider, sleeps, probes, warnings };
}

test('grow: a stopped member is tagged, started, waited for and health-checked', async (t) => {
  const world = [
    member('i-aaa', 'running', '10.0.0.1', 'node-1'),
    member('i-old', 'stopped', '10.0.0.5', 'node-0'), // a leftover tag: used only when no untagged one is left
    { ...member('i-other', 'stopped', '10.0.0.7'), tags: { 'emc:pool': 'other' } },
    member('i-bbb', 'stopped', '10.0.0.2'), // on the last page
  ];
  const { provider, calls, probes } = setup(t, world);
  const node = await provider.start('node-2');
  assert.deepEqual(node, { id: 'node-2', instanceId: 'i-bbb', address: 'http://10.0.0.2:5001' });
  assert.deepEqual(calls('CreateTags'), [{ Resources: ['i-bbb'], Tags: [{ Key: 'emc:node', Value: 'node-2' }] }]);
  assert.deepEqual(calls('StartInstances'), [{ InstanceIds: ['i-bbb'] }]);
  assert.equal(world[3]!.state, 'running');
  assert.deepEqual(probes.at(-1), 'http://10.0.0.2:5001/health');
  const poolFilter = { Name: 'tag:emc:pool', Values: ['main'] };
  assert.ok(calls('DescribeInstances').filter((c) => c.Filters).every((c) => (c.Filters as unknown[]).some((f) => JSON.stringify(f) === JSON.stringify(poolFilter))));
  assert.deepEqual((await provider.list()).map((n) => [n.id, n.instanceId, n.address]), [
    ['node-1', 'i-aaa', 'http://10.0.0.1:5001'],
    ['node-2', 'i-bbb', 'http://10.0.0.2:5001'],
  ]);
  assert.equal((await provider.start('node-3')).instanceId, 'i-old', 'then the stale-tagged one');
  assert.equal(world[1]!.tags['emc:node'], 'node-3');
});

test('concurrent starts never pick the same instance; the public address is used when asked', async (t) => {
  const world = [member('i-a', 'stopped', '10.0.0.1'), member('i-b', 'stopped', '10.0.0.2')];
  const { provider } = setup(t, world, { address: 'public', fetchHealth: async () => true });
  const [a, b] = await Promise.all([provider.start('node-1'), provider.start('node-2')]);
  assert.notEqual(a.instanceId, b.instanceId);
  assert.deepEqual([a.address, b.address].sort(), ['http://203.0.113.1:5001', 'http://203.0.113.2:5001']);
});

test('shrink: the node is stopped and its tag removed, so the instance is free again', async (t) => {
  const world = [member('i-a', 'running', '10.0.0.1', 'node-1'), member('i-b', 'running', '10.0.0.2', 'node-2')];
  const { provider, calls } = setup(t, world);
  await provider.stop('node-2');
  assert.deepEqual(calls('StopInstances'), [{ InstanceIds: ['i-b'] }]);
  assert.deepEqual(calls('DeleteTags'), [{ Resources: ['i-b'], Tags: [{ Key: 'emc:node', Value: 'node-2' }] }]);
  assert.equal(world[0]!.state, 'running');
  assert.deepEqual(world[1]!.tags, { 'emc:pool': 'main' });
  assert.deepEqual((await provider.list()).map((n) => n.id), ['node-1']);
  assert.equal((await provider.start('node-3')).instanceId, 'i-b', 'the freed instance serves the next node');
});

test('none left: a clear message, or a launch from the template when one is set', async (t) => {
  const busy = () => [member('i-a', 'running', '10.0.0.1', 'node-1'), member('i-b', 'pending', '10.0.0.2', 'node-9')];
  const plain = setup(t, busy());
  await assert.rejects(
    plain.provider.start('node-2'),
    /node-2 not started: no stopped or stopping instance tagged emc:pool=main is left to start; add instances to the pool or set EMC_EC2_LAUNCH_TEMPLATE/,
  );
  assert.equal(plain.calls('StartInstances').length + plain.calls('RunInstances').length, 0);

  const templated = setup(t, busy(), { launchTemplate: 'emc-cache' });
  const node = await templated.provider.start('node-2');
  assert.deepEqual(node, { id: 'node-2', instanceId: 'i-launched1', address: 'http://10.0.9.1:5001' });
  const [run] = templated.calls('RunInstances');
  assert.deepEqual(run!.LaunchTemplate, { LaunchTemplateName: 'emc-cache' });
  assert.equal(run!.MinCount, 1);
  assert.equal(run!.MaxCount, 1);
  assert.match(String(run!.ClientToken), /^[0-9a-f-]{36}$/, 'a retried launch cannot start a second instance');
  assert.deepEqual(run!.TagSpecifications, [
    { ResourceType: 'instance', Tags: [{ Key: 'emc:pool', Value: 'main' }, { Key: 'emc:node', Value: 'node-2' }] },
  ]);
  assert.equal(templated.calls('StartInstances').length, 0);
});

test('throttling is retried with growing, jittered waits, then the start succeeds', async (t) => {
  const randoms = [0.9, 0.6];
  const { provider, failNext, sleeps, calls, warnings } = setup(t, [member('i-a', 'stopped', '10.0.0.1')], {
    random: () => randoms.shift() ?? 0.5,
  });
  failNext('DescribeInstances', awsError('RequestLimitExceeded', 503), awsError('RequestLimitExceeded', 503));
  const node = await provider.start('node-1');
  assert.equal(node.instanceId, 'i-a');
  assert.deepEqual(sleeps.slice(0, 2), [180, 240], 'full jitter of 200 ms, then of 400 ms');
  assert.ok(sleeps[0]! < 200 && sleeps[1]! < 400 && sleeps[1]! > sleeps[0]!);
  assert.equal(warnings.filter((w) => /retrying/.test(w)).length, 2);
  assert.equal(calls('StartInstances').length, 1);
});

test('a non-retryable error fails the start at once', async (t) => {
  const world = [member('i-a', 'stopped', '10.0.0.1')];
  const { provider, failNext, sleeps, calls } = setup(t, world);
  failNext('CreateTags', awsError('UnauthorizedOperation', 403));
  await assert.rejects(provider.start('node-1'), /node-1 not started: UnauthorizedOperation/);
  assert.equal(calls('CreateTags').length, 1);
  assert.deepEqual(sleeps, []);
  assert.equal(world[0]!.state, 'stopped');
});

test('idempotent: a node already running is kept, starting a running instance works, unknown stops are fine', async (t) => {
  const world = [member('i-a', 'running', '10.0.0.1', 'node-1'), member('i-b', 'stopped', '10.0.0.2', 'node-2')];
  const { provider, calls } = setup(t, world);
  const [first, again] = await Promise.all([provider.start('node-1'), provider.start('node-1')]);
  assert.deepEqual(first, { id: 'node-1', instanceId: 'i-a', address: 'http://10.0.0.1:5001' });
  assert.deepEqual(again, first);
  assert.equal(calls('StartInstances').length + calls('CreateTags').length, 0);
  assert.equal((await provider.start('node-2')).instanceId, 'i-b', 'a stopped instance already tagged for the node is started');
  await provider.stop('node-99');
  await provider.stop('node-2');
  await provider.stop('node-2');
  assert.deepEqual(calls('StopInstances'), [{ InstanceIds: ['i-b'] }]);
});

test('an instance stopped behind our back disappears from list()', async (t) => {
  const world = [member('i-a', 'running', '10.0.0.1', 'node-1'), member('i-b', 'running', '10.0.0.2', 'node-2')];
  const { provider } = setup(t, world);
  assert.equal((await provider.list()).length, 2);
  world[0]!.state = 'stopped';
  assert.deepEqual((await provider.list()).map((n) => n.id), ['node-2']);
});

test('a node whose health check never answers fails to start after the timeout and is released', async (t) => {
  const world = [member('i-a', 'stopped', '10.0.0.1')];
  // The budget covers the EC2 calls before the first probe too: long enough for them on a busy machine.
  const { provider, probes } = setup(t, world, { healthTimeoutMs: 500, fetchHealth: async (url) => (probes.push(url), false) });
  const started = Date.now();
  await assert.rejects(provider.start('node-1'), /node-1 \(EC2 instance i-a\) failed to start: http:\/\/10\.0\.0\.1:5001\/health did not answer within 500 ms/);
  const tookMs = Date.now() - started;
  assert.ok(tookMs >= 500 && tookMs < 3000, `gave up at the budget, not before and not long after (${tookMs} ms)`);
  assert.ok(probes.length > 1, 'it kept asking');
  assert.equal(world[0]!.state, 'stopping');
  assert.deepEqual(world[0]!.tags, { 'emc:pool': 'main' }, 'free for the next start');
});

test('close ends a start in progress and never stops instances', async (t) => {
  const world = [member('i-a', 'running', '10.0.0.1', 'node-1'), member('i-b', 'stopped', '10.0.0.2')];
  const { provider, calls } = setup(t, world, { sleep: undefined, pollMs: 5, healthTimeoutMs: 60_000, fetchHealth: async () => false });
  const start = provider.start('node-2');
  await delay(30);
  const closing = Date.now();
  await provider.close();
  await assert.rejects(start, /node-2 \(EC2 instance i-b\) failed to start: the ec2 provider closed$/);
  assert.ok(Date.now() - closing < 1000);
  assert.equal(calls('StopInstances').length, 0);
  assert.equal(world[0]!.state, 'running');
  await assert.rejects(provider.start('node-3'), /closed/);
  const client = provider.connect({ id: 'node-1', instanceId: 'i-a', address: 'http://127.0.0.1:9' });
  await client.close();
  assert.throws(() => provider.connect({ id: 'x', instanceId: null, address: 'inprocess' }), /not an http:\/\/ origin/);
});

test('grow right after shrink: a member still stopping is waited for and started, never launched around', async (t) => {
  const world = [member('i-a', 'running', '10.0.0.1', 'node-1'), member('i-b', 'running', '10.0.0.2', 'node-2')];
  // Stopping lasts a few looks; StartInstances meanwhile answers IncorrectInstanceState.
  const { provider, calls } = setup(t, world, { launchTemplate: 'emc-cache' }, { stoppingLooks: 4 });
  await provider.stop('node-2');
  assert.equal(world[1]!.state, 'stopping');
  const node = await provider.start('node-3');
  assert.deepEqual(node, { id: 'node-3', instanceId: 'i-b', address: 'http://10.0.0.2:5001' });
  assert.equal(calls('RunInstances').length, 0, 'no instance launched that nobody would stop');
  assert.ok(calls('StartInstances').length >= 2, 'the refused start was tried again once stopped');
  assert.equal(world[1]!.tags['emc:node'], 'node-3');
});

test('a start EC2 gives up on (pending, then stopped) fails at once with its reason, and the lock is not held for the budget', async (t) => {
  const capacity = { Code: 'Server.InsufficientInstanceCapacity', Message: 'Insufficient capacity.' };
  const world = [{ ...member('i-a', 'stopped', '10.0.0.1'), failsToStart: capacity }];
  const { provider } = setup(t, world, { healthTimeoutMs: 30_000 });
  const started = Date.now();
  await assert.rejects(provider.start('node-1'), /node-1 \(EC2 instance i-a\) failed to start: instance i-a did not start: Server\.InsufficientInstanceCapacity: Insufficient capacity\./);
  assert.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`);
  assert.deepEqual(world[0]!.tags, { 'emc:pool': 'main' }, 'released for the next try');
});

test('stopping a member that is still pending waits until it runs, instead of swallowing IncorrectInstanceState', async (t) => {
  const world = [{ ...member('i-a', 'pending', '10.0.0.1', 'node-1'), looks: 4 }];
  const { provider, calls } = setup(t, world);
  await provider.stop('node-1');
  assert.equal(world[0]!.state, 'stopping');
  assert.deepEqual(world[0]!.tags, { 'emc:pool': 'main' });
  assert.ok(calls('StopInstances').length >= 2, 'refused while pending, then accepted');
});

test('launching checks the template first: without subnet, instance type or IMDSv2 it fails clearly and launches nothing', async (t) => {
  const world = [member('i-a', 'running', '10.0.0.1', 'node-1')];
  const { provider, calls } = setup(t, world, { launchTemplate: 'emc-bare' }, { templates: { 'emc-bare': { ImageId: 'ami-1' } } });
  await assert.rejects(
    provider.start('node-2'),
    /launch template emc-bare \(default version\) lacks an instance type \(InstanceType\), a subnet \(NetworkInterfaces\[0\]\.SubnetId\), IMDSv2 \(MetadataOptions\.HttpTokens=required\); see deploy\/AWS\.md/,
  );
  assert.equal(calls('RunInstances').length, 0);
  assert.deepEqual(calls('DescribeLaunchTemplateVersions'), [{ LaunchTemplateName: 'emc-bare', Versions: ['$Default'] }]);
});
