import { randomUUID } from 'node:crypto';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Filter,
  type Instance,
  type InstanceStateName,
} from '@aws-sdk/client-ec2';
import { checkLaunchTemplate, templateRef } from './ec2-launch-template.js';
import { withRetry, type RetryOptions } from './ec2-retry.js';

export const POOL_TAG = 'emc:pool';
export const NODE_TAG = 'emc:node';

/** A pool member as the provider needs it. */
export type PoolInstance = {
  instanceId: string;
  state: InstanceStateName | undefined;
  /** The emc:node tag: which pool node the instance serves, if any. */
  nodeId: string | undefined;
  privateIp: string | undefined;
  publicIp: string | undefined;
  /** Why EC2 last changed the state, e.g. "Server.InsufficientInstanceCapacity: …". */
  stateReason: string | undefined;
};

export type PoolQuery = { states: InstanceStateName[]; nodeId?: string; tagged?: boolean };

/** The EC2 calls of the ec2 provider, each through withRetry, limited to instances tagged emc:pool=<poolTag>. */
export interface Ec2Pool {
  find(query: PoolQuery): Promise<PoolInstance[]>;
  /** undefined while EC2 does not know the id yet (a fresh launch) or any more. */
  describe(instanceId: string): Promise<PoolInstance | undefined>;
  tag(instanceId: string, nodeId: string): Promise<void>;
  /** Removes emc:node only while it still names `nodeId`, so a newer claim is kept. */
  untag(instanceId: string, nodeId: string): Promise<void>;
  start(instanceId: string): Promise<void>;
  stop(instanceId: string): Promise<void>;
  /** Launches one tagged instance from the template (an `lt-…` id or a name) once it is checked complete; resolves its id. */
  launch(template: string, nodeId: string): Promise<string>;
}

function toPoolInstance(instance: Instance): PoolInstance {
  return {
    instanceId: instance.InstanceId ?? '',
    state: instance.State?.Name,
    nodeId: instance.Tags?.find((t) => t.Key === NODE_TAG)?.Value,
    privateIp: instance.PrivateIpAddress,
    publicIp: instance.PublicIpAddress,
    stateReason: instance.StateReason ? `${instance.StateReason.Code}: ${instance.StateReason.Message}` : undefined,
  };
}

/** A client on the SDK's default chain (instance role, AWS_REGION): no credentials or region live in code. */
export function createEc2Client(): EC2Client {
  return new EC2Client({});
}

const isNotFound = (error: unknown) => (error as { name?: string }).name === 'InvalidInstanceID.NotFound';
/** StartInstances on a stopping instance, StopInstances on a pending one. */
export const isIncorrectState = (error: unknown) => (error as { name?: string }).name === 'IncorrectInstanceState';

export function createEc2Pool({ ec2, poolTag, retry }: { ec2: EC2Client; poolTag: string; retry: RetryOptions }): Ec2Pool {
  const call = <T>(operation: () => Promise<T>) => withRetry(operation, retry);
  const poolTags = [{ Key: POOL_TAG, Value: poolTag }];

  async function describeAll(input: { Filters?: Filter[]; InstanceIds?: string[] }): Promise<PoolInstance[]> {
    const found: PoolInstance[] = [];
    let NextToken: string | undefined;
    do {
      const page = await call(() => ec2.send(new DescribeInstancesCommand({ ...input, NextToken })));
      for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []).map(toPoolInstance));
      NextToken = page.NextToken;
    } while (NextToken);
    return found;
  }

  return {
    find({ states, nodeId, tagged }) {
      const Filters: Filter[] = [
        { Name: `tag:${POOL_TAG}`, Values: [poolTag] },
        { Name: 'instance-state-name', Values: states },
      ];
      if (nodeId !== undefined) Filters.push({ Name: `tag:${NODE_TAG}`, Values: [nodeId] });
      if (tagged) Filters.push({ Name: 'tag-key', Values: [NODE_TAG] });
      return describeAll({ Filters });
    },
    async describe(instanceId) {
      try {
        return (await describeAll({ InstanceIds: [instanceId] }))[0];
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async tag(instanceId, nodeId) {
      await call(() => ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: NODE_TAG, Value: nodeId }] })));
    },
    async untag(instanceId, nodeId) {
      await call(() => ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: [{ Key: NODE_TAG, Value: nodeId }] })));
    },
    async start(instanceId) {
      await call(() => ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));
    },
    async stop(instanceId) {
      await call(() => ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
    },
    async launch(template, nodeId) {
      await call(() => checkLaunchTemplate(ec2, template));
      const LaunchTemplate = templateRef(template);
      // One token for all tries: a retry after a lost answer must not launch a second instance.
      const ClientToken = randomUUID();
      const Tags = [...poolTags, { Key: NODE_TAG, Value: nodeId }];
      const answer = await call(() =>
        ec2.send(new RunInstancesCommand({ LaunchTemplate, MinCount: 1, MaxCount: 1, ClientToken, TagSpecifications: [{ ResourceType: 'instance', Tags }] })),
      );
      const instanceId = answer.Instances?.[0]?.InstanceId;
      if (!instanceId) throw new Error(`RunInstances from launch template ${template} returned no instance`);
      return instanceId;
    },
  };
}
