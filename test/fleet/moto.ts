// moto_server as the fleet's AWS: the pool's pre-created EC2 instances (deploy/AWS.md: a set of
// stopped instances tagged emc:pool=<pool>) in a VPC of 127.0.0.0/16, so each instance's private
// IP is a loopback address a real cache process can listen on, and the S3 bucket of the images.
// The web pool: a target group and the web launch template deploy/AWS.md describes (moto
// ignores the template's subnet: a worker gets a private IP of moto's choosing, in 10.0.0.0/8).
import { CreateLaunchTemplateCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CACHE_POOL_TAGS } from '../../src/scaling/ec2-instances.js';
import { startMoto } from '../helpers/moto.js';
import { trackGroup } from './role-process.js';

export type FleetAws = {
  readonly endpoint: string;
  /** What every AWS-using role (and the harness's clients) needs in its environment. */
  readonly env: Record<string, string>;
  ec2(): EC2Client;
  /** Pre-creates `count` stopped instances tagged emc:pool=`poolTag`; resolves their ids. */
  createPool(poolTag: string, count: number): Promise<string[]>;
  createBucket(bucket: string): Promise<void>;
  elb(): ElasticLoadBalancingV2Client;
  /** After createPool: the web pool's target group (workers on `port`) and its launch template `template`. */
  createWebPool(template: string, port: number): Promise<{ targetGroupArn: string }>;
  close(): Promise<void>;
};

/** `log`: the server's request log and errors go there. */
export async function startFleetAws(log: string): Promise<FleetAws> {
  const moto = await startMoto({ logFile: log });
  trackGroup(moto.pid);
  const { endpoint, env } = moto;
  const region = env.AWS_REGION;
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
  const clients: { destroy(): void }[] = [];
  const ec2 = () => {
    const client = new EC2Client({ region, endpoint, credentials });
    clients.push(client);
    return client;
  };
  const elb = () => {
    const client = new ElasticLoadBalancingV2Client({ region, endpoint, credentials });
    clients.push(client);
    return client;
  };
  let pool: { vpcId: string; subnetId: string } | undefined;
  return {
    endpoint,
    env: { ...env },
    ec2,
    async createPool(poolTag, count) {
      const client = ec2();
      const vpc = await client.send(new CreateVpcCommand({ CidrBlock: '127.0.0.0/16' }));
      const subnet = await client.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '127.0.0.0/24' }));
      const answer = await client.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          InstanceType: 't4g.micro',
          MinCount: count,
          MaxCount: count,
          SubnetId: subnet.Subnet!.SubnetId!,
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: CACHE_POOL_TAGS.pool, Value: poolTag }] }],
        }),
      );
      const ids = answer.Instances!.map((i) => i.InstanceId!);
      await client.send(new StopInstancesCommand({ InstanceIds: ids }));
      pool = { vpcId: vpc.Vpc!.VpcId!, subnetId: subnet.Subnet!.SubnetId! };
      return ids;
    },
    elb,
    async createWebPool(template, port) {
      if (!pool) throw new Error('createWebPool needs createPool first (the VPC)');
      await ec2().send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: template,
          LaunchTemplateData: {
            ImageId: 'ami-12c6146b',
            InstanceType: 't4g.small',
            NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: pool.subnetId }],
            IamInstanceProfile: { Name: 'emc-web' },
            MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
          },
        }),
      );
      const client = elb();
      const { TargetGroups = [] } = await client.send(
        new CreateTargetGroupCommand({ Name: template, Protocol: 'HTTP', Port: port, VpcId: pool.vpcId, TargetType: 'instance', HealthCheckPath: '/health' }),
      );
      const targetGroupArn = TargetGroups[0]!.TargetGroupArn!;
      // Short, as the fleet's other intervals: a stop waits out at most this (moto reports a deregistered target unused at once).
      await client.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }] }));
      return { targetGroupArn };
    },
    async createBucket(bucket) {
      const s3 = new S3Client({ region, endpoint, credentials, forcePathStyle: true });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        s3.destroy();
      }
    },
    async close() {
      for (const client of clients) client.destroy();
      await moto.stop();
    },
  };
}
