import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DescribeImagesCommand, DescribeVpcsCommand, RunInstancesCommand, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  ModifyTargetGroupAttributesCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createElbClient, createTargetGroup, TargetGroupError, type TargetGroup } from '../../src/scaling/alb-target-group.js';
import { createEc2Client } from '../../src/scaling/ec2-instances.js';
import { useMoto } from '../helpers/moto.js';

// The ALB adapter against moto_server 5.2.1, through the project's own client. What moto's elbv2
// does (moto/elbv2/models.py, FakeTargetGroup.register/deregister/health_for): RegisterTargets
// refuses an instance that is not running (InvalidTarget); a registered target is `healthy` at once
// (no health check runs, so no `initial`); a stopped instance's target is `unused`
// (Target.InvalidState); DeregisterTargets makes the target `unused` (Target.NotRegistered) at once,
// with no `draining`, and answers InvalidTarget for a target never registered; a target whose
// instance was terminated while registered stays `draining` (Target.DeregistrationInProgress) for
// good. The health check's thresholds, the deregistration delay and throttling are modelled in
// test/alb-target-group.test.ts on a fake built from AWS's documentation.
const moto = useMoto({ before, after });
const PORT = 5000;

let elb: ElasticLoadBalancingV2Client;
let group: TargetGroup;
let instances: string[];

async function running(count: number): Promise<string[]> {
  const ec2 = createEc2Client();
  const { Images = [] } = await ec2.send(new DescribeImagesCommand({}));
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: Images[0]!.ImageId!, MinCount: count, MaxCount: count, InstanceType: 't3.micro' }));
  ec2.destroy();
  return Instances.map((i) => i.InstanceId!);
}

async function ec2Call(command: StopInstancesCommand | TerminateInstancesCommand) {
  const ec2 = createEc2Client();
  await ec2.send(command as StopInstancesCommand);
  ec2.destroy();
}

beforeEach(async () => {
  await moto().reset();
  elb?.destroy();
  elb = createElbClient();
  const ec2 = createEc2Client();
  const { Vpcs = [] } = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
  ec2.destroy();
  const { TargetGroups = [] } = await elb.send(
    new CreateTargetGroupCommand({
      Name: 'emc-web',
      Protocol: 'HTTP',
      Port: PORT,
      VpcId: Vpcs[0]!.VpcId,
      TargetType: 'instance',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
    }),
  );
  group = createTargetGroup({ elb, targetGroupArn: TargetGroups[0]!.TargetGroupArn!, pollMs: 10 });
  instances = await running(2);
});
after(() => elb?.destroy());

describe('ALB target group against moto', () => {
  it('registers a running instance (moto: healthy at once, no initial), lists it, and deregisters it (moto: unused at once, no draining)', async () => {
    const [a, b] = instances as [string, string];
    await group.register({ instanceId: a, port: PORT });
    await group.register({ instanceId: b, port: PORT });
    assert.equal((await group.health({ instanceId: a, port: PORT })).state, 'healthy');
    await group.waitHealthy({ instanceId: a, port: PORT }, 1000);
    assert.deepEqual((await group.targets()).map((t) => [t.instanceId, t.port, t.health.state]).sort(), [[a, PORT, 'healthy'], [b, PORT, 'healthy']].sort());

    await group.deregister({ instanceId: a, port: PORT });
    assert.deepEqual(await group.health({ instanceId: a, port: PORT }), {
      state: 'unused',
      reason: 'Target.NotRegistered',
      description: 'Target is not registered to the target group',
    });
    await group.waitDrained({ instanceId: a, port: PORT }, 1000);
    assert.deepEqual((await group.targets()).map((t) => t.instanceId), [b]);
  });

  it('deregistering a target that is not registered is not an error (moto answers InvalidTarget)', async () => {
    await group.deregister({ instanceId: instances[0]!, port: PORT });
    assert.equal((await group.health({ instanceId: instances[0]!, port: PORT })).state, 'unused');
  });

  it('refuses to register a stopped instance (InvalidTarget), and a registered one that stops is unused (Target.InvalidState): no wait for health', async () => {
    const [a, b] = instances as [string, string];
    await ec2Call(new StopInstancesCommand({ InstanceIds: [a] }));
    await assert.rejects(group.register({ instanceId: a, port: PORT }), (err: Error) => err.name === 'InvalidTargetException' && /not in a running state/.test(err.message));

    await group.register({ instanceId: b, port: PORT });
    await ec2Call(new StopInstancesCommand({ InstanceIds: [b] }));
    assert.equal((await group.health({ instanceId: b, port: PORT })).reason, 'Target.InvalidState');
    await assert.rejects(group.waitHealthy({ instanceId: b, port: PORT }, 60_000), (err: unknown) => err instanceof TargetGroupError && err.kind === 'not-registered');
  });

  it('a registered instance that is terminated shows as draining (moto: for good) and so never counts as drained', async () => {
    const [a] = instances as [string];
    await group.register({ instanceId: a, port: PORT });
    await ec2Call(new TerminateInstancesCommand({ InstanceIds: [a] }));
    assert.deepEqual(await group.health({ instanceId: a, port: PORT }), {
      state: 'draining',
      reason: 'Target.DeregistrationInProgress',
      description: 'Target deregistration is in progress',
    });
    await assert.rejects(group.waitDrained({ instanceId: a, port: PORT }, 50), (err: unknown) => err instanceof TargetGroupError && err.kind === 'not-drained' && /last: draining/.test(err.message));
  });

  it('reads the deregistration delay from the target group (300 s unless changed)', async () => {
    assert.equal(await group.deregistrationDelayMs(), 300_000);
    await elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: group.arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '20' }] }));
    const fresh = createTargetGroup({ elb, targetGroupArn: group.arn });
    assert.equal(await fresh.deregistrationDelayMs(), 20_000);
  });

  it('a target group that does not exist: TargetGroupNotFound', async () => {
    const missing = createTargetGroup({ elb, targetGroupArn: group.arn.replace(/\/[0-9a-f]+$/, '/0000000000000000') });
    await assert.rejects(missing.register({ instanceId: instances[0]!, port: PORT }), (err: Error) => err.name === 'TargetGroupNotFoundException');
  });
});
