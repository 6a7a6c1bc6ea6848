import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createTargetGroup, TargetGroupError } from '../src/scaling/alb-target-group.js';
import { elbError, fakeTargetGroup, type FakeTargetGroupOptions } from './helpers/fake-elb.js';

// The ALB adapter on a target group modelled from AWS's documentation (test/helpers/fake-elb.ts):
// the health check's thresholds and interval, the deregistration delay, throttling. moto 5.2.1 has
// none of these (a target is healthy at registration and unused at deregistration); what it does
// is in test/aws/alb-target-group.test.ts.

/** The fake's clock is Date.now(); every sleep moves it on by its length. */
function setup(t: TestContext, options: FakeTargetGroupOptions = {}) {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const fake = fakeTargetGroup(options);
  const sleeps: number[] = [];
  const retries: string[] = [];
  const group = createTargetGroup({
    elb: fake.elb,
    targetGroupArn: fake.arn,
    pollMs: 5000,
    sleep: async (ms) => {
      sleeps.push(ms);
      t.mock.timers.tick(ms);
    },
    retry: { random: () => 0.5, onRetry: (err) => retries.push((err as Error).name) },
  });
  t.after(() => fake.mock.restore());
  return { ...fake, group, sleeps, retries };
}

const target = { instanceId: 'i-web1', port: 5000 };

test('a registered target is initial until healthy threshold × interval have passed; waitHealthy resolves then, not before', async (t) => {
  const { group, state } = setup(t, { intervalS: 10, healthyThreshold: 3 });
  await group.register(target);
  assert.deepEqual(await group.health(target), { state: 'initial', reason: 'Elb.RegistrationInProgress', description: 'Target registration is in progress' });
  t.mock.timers.tick(10_000);
  assert.equal((await group.health(target)).reason, 'Elb.InitialHealthChecking');
  await group.waitHealthy(target, 60_000);
  assert.equal(Date.now(), 30_000, 'three checks 10 s apart, seen at the first poll after them');
  assert.equal(state(target.instanceId), 'healthy');
});

test('a target that fails its health checks goes unhealthy; waitHealthy gives up at its deadline with the reason', async (t) => {
  const { group } = setup(t, { intervalS: 10, unhealthyThreshold: 2, passes: () => false });
  await group.register(target);
  await assert.rejects(group.waitHealthy(target, 45_000), (err: unknown) => {
    assert.ok(err instanceof TargetGroupError);
    assert.equal(err.kind, 'not-healthy');
    assert.match(err.message, /target i-web1:5000 was not healthy within 45000 ms \(last: unhealthy \(Target.ResponseCodeMismatch: Health checks failed with these codes: \[502\]\)\)/);
    return true;
  });
  assert.equal(Date.now(), 45_000);
});

test('deregistration drains for the deregistration delay, then the target is unused and no longer listed', async (t) => {
  const { group } = setup(t, { intervalS: 5, healthyThreshold: 2, deregistrationDelayS: 30 });
  await group.register(target);
  await group.waitHealthy(target, 60_000);
  const from = Date.now();
  await group.deregister(target);
  assert.deepEqual((await group.targets()).map((x) => x.health.state), ['draining']);
  assert.equal(await group.deregistrationDelayMs(), 30_000);
  await group.waitDrained(target, 60_000);
  assert.equal(Date.now() - from, 30_000);
  assert.deepEqual(await group.health(target), { state: 'unused', reason: 'Target.NotRegistered', description: 'Target is not registered to the target group' });
  assert.deepEqual(await group.targets(), []);
});

test('a target without in-flight requests drains at once (AWS completes it without the delay); one that drains too long is reported', async (t) => {
  const { group, idle } = setup(t, { intervalS: 5, healthyThreshold: 1, deregistrationDelayS: 300 });
  const busy = { instanceId: 'i-busy', port: 5000 };
  await Promise.all([group.register(target), group.register(busy)]);
  await Promise.all([group.waitHealthy(target, 10_000), group.waitHealthy(busy, 10_000)]);
  await Promise.all([group.deregister(target), group.deregister(busy)]);
  idle(target.instanceId);
  const from = Date.now();
  await group.waitDrained(target, 60_000);
  assert.equal(Date.now(), from);
  await assert.rejects(group.waitDrained(busy, 20_000), (err: unknown) => err instanceof TargetGroupError && err.kind === 'not-drained' && /last: draining \(Target.DeregistrationInProgress/.test(err.message));
});

test('a target deregistered while it starts ends the wait for health at once', async (t) => {
  const { group } = setup(t, { intervalS: 10 });
  await group.register(target);
  await group.deregister(target);
  await assert.rejects(group.waitHealthy(target, 600_000), (err: unknown) => err instanceof TargetGroupError && err.kind === 'not-registered');
  assert.equal(Date.now(), 0);
});

test('throttling and server faults are retried with backoff; a refused call is not', async (t) => {
  const { group, failNext, calls, retries, sleeps } = setup(t, { intervalS: 5, healthyThreshold: 1 });
  failNext('RegisterTargets', elbError('Throttling'), elbError('ServiceUnavailable', 503));
  failNext('DescribeTargetHealth', elbError('Throttling'));
  await group.register(target);
  await group.waitHealthy(target, 60_000);
  assert.deepEqual(retries, ['Throttling', 'ServiceUnavailable', 'Throttling']);
  assert.equal(calls('RegisterTargets').length, 3);
  assert.deepEqual(sleeps.slice(0, 2), [100, 200], 'full jitter (0.5) of 200 ms, then 400 ms');

  failNext('DeregisterTargets', elbError('AccessDenied', 403));
  await assert.rejects(group.deregister(target), /AccessDenied/);
  assert.equal(retries.length, 3);
});
