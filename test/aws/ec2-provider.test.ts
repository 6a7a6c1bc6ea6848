import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import Fastify, { type FastifyInstance } from 'fastify';
import { createEc2Client } from '../../src/scaling/ec2-instances.js';
import { createEc2Provider, type Ec2ProviderOptions } from '../../src/scaling/ec2-provider.js';
import { newStore } from '../helpers/cache-server.js';
import { useMoto } from '../helpers/moto.js';
import { silentLog } from '../helpers/pool.js';
import { freePort } from '../helpers/process.js';
import { cacheRole } from '../../src/roles/cache/cache-role.js';

// The EC2 provider against moto_server, through the project's own client. moto accepts a VPC in
// 127.0.0.0/16, so instances get loopback addresses where a real cache node can listen. What moto
// does not model (pending/stopping windows, IncorrectInstanceState, failed starts) is in
// test/ec2-provider.test.ts on the modelled fake.
const moto = useMoto({ before, after });
const POOL = 'aws-test';

type World = { ec2: EC2Client; subnetId: string; imageId: string; nodePort: number };
let world: World;

beforeEach(async () => {
  await moto().reset();
  const ec2 = createEc2Client();
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '127.0.0.0/16' }));
  const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId, CidrBlock: '127.0.1.0/24' }));
  const { Images = [] } = await ec2.send(new DescribeImagesCommand({}));
  world = { ec2, subnetId: Subnet!.SubnetId!, imageId: Images[0]!.ImageId!, nodePort: await freePort() };
});

async function poolInstances(count: number, tags: Record<string, string> = { 'emc:pool': POOL }): Promise<string[]> {
  const { Instances = [] } = await world.ec2.send(
    new RunInstancesCommand({
      ImageId: world.imageId,
      MinCount: count,
      MaxCount: count,
      InstanceType: 't3.micro',
      SubnetId: world.subnetId,
      TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
    }),
  );
  const ids = Instances.map((i) => i.InstanceId!);
  await world.ec2.send(new StopInstancesCommand({ InstanceIds: ids }));
  return ids;
}

async function describeOne(id: string): Promise<Instance> {
  const { Reservations = [] } = await world.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return Reservations[0]!.Instances![0]!;
}
const tagsOf = (i: Instance) => Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]));

/**
 * What booting does on a real instance: a cache node listens on the instance's private
 * address while it runs (the AMI's systemd unit), and goes away when it stops.
 */
function bootCacheNodes(t: TestContext) {
  const listening = new Map<string, FastifyInstance>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const { Reservations = [] } = await world.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:emc:pool', Values: [POOL] }] }));
      for (const i of Reservations.flatMap((r) => r.Instances ?? [])) {
        const ip = i.PrivateIpAddress!;
        if (i.State?.Name === 'running' && !listening.has(ip) && ip.startsWith('127.')) {
          const app = Fastify();
          listening.set(ip, app);
          await app.register(cacheRole(newStore()));
          await app.listen({ host: ip, port: world.nodePort });
        } else if (i.State?.Name !== 'running' && listening.has(ip)) {
          await listening.get(ip)!.close();
          listening.delete(ip);
        }
      }
      await delay(30);
    }
  })();
  t.after(async () => {
    running = false;
    await loop;
    await Promise.all([...listening.values()].map((app) => app.close()));
  });
}

function provider(t: TestContext, options: Partial<Ec2ProviderOptions> = {}) {
  const p = createEc2Provider({ ec2: createEc2Client(), poolTag: POOL, address: 'private', nodePort: world.nodePort, pollMs: 50, healthTimeoutMs: 15_000, log: silentLog, ...options });
  t.after(() => p.close());
  return p;
}

describe('EC2 provider against moto', () => {
  it('grows onto stopped pool members, serves through them, and shrinks them back to stopped and untagged', async (t) => {
    const ids = await poolInstances(2);
    const [outsider] = await poolInstances(1, { 'emc:pool': 'other' });
    bootCacheNodes(t);
    const ec2 = provider(t);

    const [a, b] = await Promise.all([ec2.start('node-1'), ec2.start('node-2')]);
    assert.deepEqual([a.instanceId, b.instanceId].sort(), [...ids].sort(), 'two distinct pool members, never the other pool');
    assert.match(a.address, new RegExp(`^http://127\\.0\\.1\\.\\d+:${world.nodePort}$`));
    assert.equal(tagsOf(await describeOne(a.instanceId!))['emc:node'], 'node-1');
    assert.equal((await describeOne(outsider!)).State?.Name, 'stopped');
    assert.deepEqual((await ec2.list()).map((n) => n.id).sort(), ['node-1', 'node-2']);

    const client = ec2.connect(a);
    assert.equal(await client.health(), true);
    assert.equal((await client.stats()).items, 0);
    await client.close();

    await ec2.stop('node-2');
    const stopped = await describeOne(b.instanceId!);
    assert.equal(stopped.State?.Name, 'stopped');
    assert.deepEqual(tagsOf(stopped), { 'emc:pool': POOL });
    assert.deepEqual((await ec2.list()).map((n) => n.id), ['node-1']);
    assert.equal((await ec2.start('node-3')).instanceId, b.instanceId, 'the freed member serves the next node');
  });

  it('with none left: a clear error without a template, a launch from a complete template, a refusal of an incomplete one', async (t) => {
    await poolInstances(1);
    bootCacheNodes(t);
    await provider(t).start('node-1');
    await assert.rejects(provider(t).start('node-2'), /no stopped or stopping instance tagged emc:pool=aws-test is left/);

    const data = { ImageId: world.imageId, InstanceType: 't3.micro' as const, NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: world.subnetId }] };
    await world.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'emc-bare', LaunchTemplateData: data }));
    await assert.rejects(provider(t, { launchTemplate: 'emc-bare' }).start('node-2'), /launch template emc-bare \(default version\) lacks IMDSv2/);

    await world.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'emc-cache', LaunchTemplateData: { ...data, MetadataOptions: { HttpTokens: 'required' } } }));
    // moto gives a launched instance an address outside the subnet, where nothing can listen: the health check stands in here.
    const launched = await provider(t, { launchTemplate: 'emc-cache', fetchHealth: async () => true }).start('node-2');
    const instance = await describeOne(launched.instanceId!);
    // (moto places it in its default subnet whatever the template says: the subnet itself is for a real account to show.)
    assert.deepEqual([instance.InstanceType, instance.State?.Name], ['t3.micro', 'running']);
    assert.equal(tagsOf(instance)['emc:pool'], POOL);
    assert.equal(tagsOf(instance)['emc:node'], 'node-2');
  });
});
