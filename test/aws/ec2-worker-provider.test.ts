import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  StopInstancesCommand,
  type EC2Client,
  type Instance,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createElbClient, createTargetGroup, type TargetGroup } from '../../src/scaling/alb-target-group.js';
import { createEc2Client } from '../../src/scaling/ec2-instances.js';
import { createEc2Provider } from '../../src/scaling/ec2-provider.js';
import { createEc2WorkerProvider } from '../../src/scaling/ec2-worker-provider.js';
import { useMoto } from '../helpers/moto.js';
import { silentLog } from '../helpers/pool.js';

// The web pool's EC2 provider against moto_server: launch from the web template, tags, registration
// in the target group, stop through deregistration to termination. moto's target health is healthy
// at registration and unused at deregistration (see test/aws/alb-target-group.test.ts), so here a
// start and a stop do not wait; the waits themselves (initial → healthy after the health check's
// threshold, draining for the deregistration delay, a worker that never gets healthy) run on the
// modelled fake in test/ec2-worker-provider.test.ts.
const moto = useMoto({ before, after });
const POOL = 'aws-test';
const PORT = 5000;

type World = { ec2: EC2Client; group: TargetGroup; template: RequestLaunchTemplateData };
let world: World;

beforeEach(async () => {
  await moto().reset();
  const ec2 = createEc2Client();
  const { Subnets = [] } = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
  const { Images = [] } = await ec2.send(new DescribeImagesCommand({}));
  const elb = createElbClient();
  const { TargetGroups = [] } = await elb.send(
    new CreateTargetGroupCommand({ Name: 'emc-web', Protocol: 'HTTP', Port: PORT, VpcId: Subnets[0]!.VpcId, HealthCheckPath: '/health', HealthyThresholdCount: 2, HealthCheckIntervalSeconds: 10 }),
  );
  const template: RequestLaunchTemplateData = {
    ImageId: Images[0]!.ImageId!,
    InstanceType: 't3.small',
    NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: Subnets[0]!.SubnetId }],
    IamInstanceProfile: { Name: 'emc-web' },
    MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
  };
  await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'emc-web', LaunchTemplateData: template }));
  world = { ec2, group: createTargetGroup({ elb, targetGroupArn: TargetGroups[0]!.TargetGroupArn! }), template };
});

function provider(t: TestContext, launchTemplate = 'emc-web') {
  const p = createEc2WorkerProvider({
    ec2: createEc2Client(),
    elb: createElbClient(),
    poolTag: POOL,
    address: 'private',
    webPort: PORT,
    launchTemplate,
    targetGroupArn: world.group.arn,
    pollMs: 20,
    // No process runs on moto's instances here: the worker answers its health check by fiat (the fleet suite runs real ones).
    fetchHealth: async () => true,
    startTimeoutMs: 10_000,
    log: silentLog,
  });
  t.after(() => p.close());
  return p;
}

async function describeOne(id: string): Promise<Instance> {
  const { Reservations = [] } = await world.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return Reservations[0]!.Instances![0]!;
}
const tagsOf = (i: Instance) => Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]));
const registered = async () => (await world.group.targets()).map((t) => `${t.instanceId}:${t.port}:${t.health.state}`).sort();

describe('EC2 worker provider against moto', () => {
  it('starts workers from the web template into the target group, lists them, and stops one: deregistered, then terminated', async (t) => {
    const web = provider(t);
    const [a, b] = await Promise.all([web.start('worker-1'), web.start('worker-2')]);
    assert.notEqual(a.instanceId, b.instanceId);
    const instance = await describeOne(a.instanceId!);
    assert.deepEqual([instance.State?.Name, instance.InstanceType], ['running', 't3.small']);
    // (EC2 adds aws:ec2launchtemplate:id and :version itself.)
    assert.deepEqual([tagsOf(instance)['emc:web-pool'], tagsOf(instance)['emc:worker'], tagsOf(instance)['emc:pool']], [POOL, 'worker-1', undefined]);
    assert.equal(a.address, `http://${instance.PrivateIpAddress}:${PORT}`);
    assert.deepEqual(await registered(), [`${a.instanceId}:${PORT}:healthy`, `${b.instanceId}:${PORT}:healthy`].sort());
    assert.deepEqual((await web.list()).map((w) => [w.id, w.instanceId]).sort(), [['worker-1', a.instanceId], ['worker-2', b.instanceId]]);
    assert.equal((await web.start('worker-1')).instanceId, a.instanceId, 'a second start of a running worker launches nothing');

    await web.stop('worker-1');
    assert.deepEqual(await registered(), [`${b.instanceId}:${PORT}:healthy`]);
    assert.equal((await describeOne(a.instanceId!)).State?.Name, 'terminated');
    assert.deepEqual((await web.list()).map((w) => w.id), ['worker-2']);
    await web.stop('worker-1'); // not running any more: not an error
  });

  it('a new provider (the next leader) finds the workers by their tags; the cache pool never takes a web instance', async (t) => {
    const started = await provider(t).start('worker-1');
    assert.deepEqual(await provider(t).list(), [started]);
    // Stopped by hand: to the cache provider of the same pool tag it is still no free cache instance.
    await world.ec2.send(new StopInstancesCommand({ InstanceIds: [started.instanceId!] }));
    const cache = createEc2Provider({ ec2: createEc2Client(), poolTag: POOL, address: 'private', nodePort: 5001, log: silentLog, pollMs: 20 });
    t.after(() => cache.close());
    await assert.rejects(cache.start('node-1'), /no stopped or stopping instance tagged emc:pool=aws-test is left/);
  });

  it('refuses a web template without instance profile or metadata tags, launching nothing', async (t) => {
    const { IamInstanceProfile: _, ...bare } = world.template;
    await world.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'emc-web-bare', LaunchTemplateData: { ...bare, MetadataOptions: { HttpTokens: 'required' } } }));
    await assert.rejects(
      provider(t, 'emc-web-bare').start('worker-1'),
      /web worker worker-1 not started: launch template emc-web-bare \(default version\) lacks the web instance profile \(IamInstanceProfile\), tags in the instance metadata \(MetadataOptions.InstanceMetadataTags=enabled\); see deploy\/AWS.md, "Web launch template"/,
    );
    assert.deepEqual(await provider(t).list(), []);
  });
});
