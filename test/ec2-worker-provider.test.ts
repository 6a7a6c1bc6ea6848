import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { createWorkerProvider } from '../src/scaling/create-provider.js';
import { createEc2WorkerProvider } from '../src/scaling/ec2-worker-provider.js';
import { awsError, fakeEc2, type FakeInstance } from './helpers/fake-ec2.js';
import { elbError, fakeTargetGroup, type FakeTargetGroupOptions } from './helpers/fake-elb.js';
import { silentLog } from './helpers/pool.js';

// The web pool's EC2 provider on the modelled fakes (EC2: test/helpers/fake-ec2.ts, the target
// group: test/helpers/fake-elb.ts), for what moto 5.2.1 does not show: a worker takes traffic only
// after the health check's healthy threshold × interval, a stop waits out the deregistration delay
// before terminating, a worker that never gets healthy is terminated and its start fails with the
// reason, and throttled calls are retried. Against moto: test/aws/ec2-worker-provider.test.ts.

/** What deploy/AWS.md requires of the web launch template. */
const webTemplate = {
  InstanceType: 't4g.small' as const,
  NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0abc', Groups: ['sg-0web'] }],
  IamInstanceProfile: { Name: 'emc-web' },
  MetadataOptions: { HttpTokens: 'required' as const, InstanceMetadataTags: 'enabled' as const },
};

/** `answers`: whether the worker answers the leader's GET /health at that probe. */
function setup(t: TestContext, group: FakeTargetGroupOptions = {}, instances: FakeInstance[] = [], answers: (url: string) => boolean = () => true) {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const ec2 = fakeEc2(instances, { templates: { 'emc-web': webTemplate } });
  const runs = (id: string) => ec2.instances.find((i) => i.id === id)?.state === 'running';
  const elb = fakeTargetGroup({ intervalS: 10, healthyThreshold: 3, deregistrationDelayS: 60, runs, ...group });
  const log: string[] = [];
  const record = (_obj: unknown, msg?: string) => void log.push(msg ?? '');
  const provider = createEc2WorkerProvider({
    ec2: ec2.ec2,
    elb: elb.elb,
    poolTag: 'main',
    address: 'private',
    webPort: 5000,
    launchTemplate: 'emc-web',
    targetGroupArn: elb.arn,
    pollMs: 1000,
    fetchHealth: async (url) => answers(url),
    startTimeoutMs: 120_000,
    drainMarginMs: 30_000,
    log: { info: record, warn: record, error: record },
    random: () => 0.5,
    sleep: async (ms) => {
      t.mock.timers.tick(ms);
    },
  });
  t.after(async () => {
    await provider.close();
    ec2.mock.restore();
    elb.mock.restore();
  });
  return { ec2, elb, provider, log };
}

test('start launches a tagged worker, registers it once it runs, and resolves only once its target is healthy', async (t) => {
  const { ec2, elb, provider } = setup(t);
  const worker = await provider.start('worker-1');
  assert.deepEqual(worker, { id: 'worker-1', instanceId: 'i-launched1', address: 'http://10.0.9.1:5000' });
  assert.deepEqual(ec2.instances[0]!.tags, { 'emc:web-pool': 'main', 'emc:worker': 'worker-1' });
  assert.deepEqual(elb.calls('RegisterTargets'), [{ TargetGroupArn: elb.arn, Targets: [{ Id: 'i-launched1', Port: 5000 }] }]);
  assert.equal(elb.state('i-launched1'), 'healthy');
  assert.ok(Date.now() >= 30_000 && Date.now() < 31_000 + 1000, `healthy after 3 checks 10 s apart (resolved at ${Date.now()} ms)`);
  assert.deepEqual(await provider.list(), [worker]);
});

test('a worker is registered in the target group only once it answers GET /health from the leader', async (t) => {
  const probes: Array<{ url: string; registered: number }> = [];
  let elbCalls: () => number = () => 0;
  const { elb, provider } = setup(t, {}, [], (url) => probes.push({ url, registered: elbCalls() }) >= 3);
  elbCalls = () => elb.calls('RegisterTargets').length;
  await provider.start('worker-1');
  assert.deepEqual(probes.map((p) => p.url), Array(3).fill('http://10.0.9.1:5000/health'));
  assert.deepEqual(probes.map((p) => p.registered), [0, 0, 0], 'not registered while it did not answer');
  assert.equal(elb.calls('RegisterTargets').length, 1);
});

test('a worker that never gets healthy: its start fails at the budget with the reason, and it is deregistered and terminated', async (t) => {
  const { ec2, elb, provider } = setup(t, { passes: () => false });
  await assert.rejects(provider.start('worker-1'), (err: Error) => {
    assert.match(err.message, /^web worker worker-1 \(EC2 instance i-launched1\) failed to start and was terminated: TargetGroupError: target i-launched1:5000 was not healthy within \d+ ms \(last: unhealthy \(Target.ResponseCodeMismatch/);
    return true;
  });
  assert.ok(Date.now() >= 120_000, 'waited the whole start budget');
  assert.equal(elb.calls('DeregisterTargets').length, 1);
  assert.deepEqual(ec2.calls('TerminateInstances'), [{ InstanceIds: ['i-launched1'] }]);
  assert.equal(elb.calls('DescribeTargetGroupAttributes').length, 0, 'never took traffic: no drain to wait for');
  assert.deepEqual(await provider.list(), []);
});

test('stop deregisters the worker, waits while it drains for the deregistration delay, then terminates it', async (t) => {
  const { ec2, elb, provider } = setup(t);
  await provider.start('worker-1');
  let terminatedAt: number | undefined;
  ec2.mock.on((await import('@aws-sdk/client-ec2')).TerminateInstancesCommand).callsFake(() => {
    terminatedAt = Date.now();
    ec2.instances[0]!.state = 'terminated';
    return {};
  });
  const from = Date.now();
  await provider.stop('worker-1');
  assert.equal(elb.calls('DeregisterTargets').length, 1);
  assert.ok(terminatedAt !== undefined && terminatedAt - from >= 60_000 && terminatedAt - from < 62_000, `terminated ${terminatedAt! - from} ms after the deregistration`);
  assert.equal(elb.state('i-launched1'), 'unused');
  assert.deepEqual(await provider.list(), []);
  await provider.stop('worker-1'); // nothing left: not an error
  assert.equal(elb.calls('DeregisterTargets').length, 1);
});

test('a drain that outlasts the delay and the margin does not keep the instance: it is terminated with a warning', async (t) => {
  // A group whose targets show draining far longer than its announced delay (the fake's delay is 600 s, the provider reads 60 s).
  const { ec2, elb, provider, log } = setup(t, { deregistrationDelayS: 600 });
  elb.mock.on((await import('@aws-sdk/client-elastic-load-balancing-v2')).DescribeTargetGroupAttributesCommand).resolves({
    Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '60' }],
  });
  await provider.start('worker-1');
  const from = Date.now();
  await provider.stop('worker-1');
  assert.ok(Date.now() - from >= 90_000 && Date.now() - from < 92_000, `gave up after the delay and the margin (${Date.now() - from} ms)`);
  assert.ok(log.includes('the target did not show as drained; terminating the worker anyway'));
  assert.deepEqual(ec2.calls('TerminateInstances'), [{ InstanceIds: ['i-launched1'] }]);
});

test('throttled EC2 and ELB calls during a start and a stop are retried', async (t) => {
  const { ec2, elb, provider, log } = setup(t);
  ec2.failNext('RunInstances', awsError('RequestLimitExceeded', 503));
  elb.failNext('RegisterTargets', elbError('Throttling'));
  elb.failNext('DescribeTargetHealth', elbError('Throttling'), elbError('Throttling'));
  await provider.start('worker-1');
  ec2.failNext('TerminateInstances', awsError('RequestLimitExceeded', 503));
  elb.failNext('DeregisterTargets', elbError('Throttling'));
  elb.idle('i-launched1');
  await provider.stop('worker-1');
  assert.equal(log.filter((m) => m === 'AWS call failed; retrying').length, 6);
  assert.equal(ec2.calls('RunInstances').length, 2);
  assert.equal(ec2.calls('RunInstances')[0]!.ClientToken, ec2.calls('RunInstances')[1]!.ClientToken, 'one launch, however often it is sent');
  assert.equal(ec2.instances[0]!.state, 'shutting-down');
});

test('a second start of a worker that is starting or running launches nothing; a new leader finds a running one and registers it again', async (t) => {
  const running: FakeInstance = { id: 'i-old', state: 'running', tags: { 'emc:web-pool': 'main', 'emc:worker': 'worker-7' }, privateIp: '10.0.0.7' };
  const { ec2, provider } = setup(t, {}, [running]);
  const [a, b] = await Promise.all([provider.start('worker-1'), provider.start('worker-1')]);
  assert.equal(a, b);
  assert.equal((await provider.start('worker-7')).instanceId, 'i-old');
  assert.equal(ec2.calls('RunInstances').length, 1);
});

test('EMC_WEB_POOL=ec2 makes this provider, on the configured target group and template', async () => {
  const config = loadConfig({
    EMC_ROLE: 'manager',
    EMC_ADMIN_PASSWORD: 'long enough',
    EMC_PROVIDER: 'ec2',
    EMC_WEB_POOL: 'ec2',
    EMC_ALB_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/emc-web/0123456789abcdef',
    EMC_EC2_WEB_LAUNCH_TEMPLATE: 'emc-web',
  });
  const provider = await createWorkerProvider(config, silentLog);
  assert.equal(provider.kind, 'ec2');
  await provider.close();
});
