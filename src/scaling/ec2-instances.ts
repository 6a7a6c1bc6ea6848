import { randomUUID } from 'node:crypto';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
  type Instance,
  type InstanceStateName,
} from '@aws-sdk/client-ec2';
import { checkLaunchTemplate, templateRef, type TemplateKind } from './ec2-launch-template.js';
import { withRetry, type RetryOptions } from './ec2-retry.js';

/**
 * Which tags make an instance a pool member: `pool`=<the deployment's pool tag> puts it in the
 * pool, `member`=<member id> names the member it serves. The two pools use different keys, so
 * neither ever finds the other's instances (a stopped web worker is no free cache instance).
 */
export type PoolTags = { pool: string; member: string; template: TemplateKind };
export const CACHE_POOL_TAGS: PoolTags = { pool: 'emc:pool', member: 'emc:node', template: 'cache' };
export const WEB_POOL_TAGS: PoolTags = { pool: 'emc:web-pool', member: 'emc:worker', template: 'web' };

/** A pool member as the provider needs it. */
export type PoolInstance = {
  instanceId: string;
  state: InstanceStateName | undefined;
  /** The member tag (emc:node, emc:worker): which member the instance serves, if any. */
  memberId: string | undefined;
  privateIp: string | undefined;
  publicIp: string | undefined;
  /** Why EC2 last changed the state, e.g. "Server.InsufficientInstanceCapacity: …". */
  stateReason: string | undefined;
};

export type PoolQuery = { states: InstanceStateName[]; memberId?: string; tagged?: boolean };

/** The EC2 calls of the ec2 providers, each through withRetry, limited to instances tagged <tags.pool>=<poolTag>. */
export interface Ec2Pool {
  find(query: PoolQuery): Promise<PoolInstance[]>;
  /** undefined while EC2 does not know the id yet (a fresh launch) or any more. */
  describe(instanceId: string): Promise<PoolInstance | undefined>;
  tag(instanceId: string, memberId: string): Promise<void>;
  /** Removes the member tag only while it still names `memberId`, so a newer claim is kept. */
  untag(instanceId: string, memberId: string): Promise<void>;
  start(instanceId: string): Promise<void>;
  stop(instanceId: string): Promise<void>;
  terminate(instanceId: string): Promise<void>;
  /** Launches one tagged instance from the template (an `lt-…` id or a name) once it is checked complete; resolves its id. */
  launch(template: string, memberId: string): Promise<string>;
}

function toPoolInstance(instance: Instance, memberTag: string): PoolInstance {
  return {
    instanceId: instance.InstanceId ?? '',
    state: instance.State?.Name,
    memberId: instance.Tags?.find((t) => t.Key === memberTag)?.Value,
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

export function createEc2Pool({ ec2, poolTag, tags = CACHE_POOL_TAGS, retry }: { ec2: EC2Client; poolTag: string; tags?: PoolTags; retry: RetryOptions }): Ec2Pool {
  const call = <T>(operation: () => Promise<T>) => withRetry(operation, retry);
  const poolTags = [{ Key: tags.pool, Value: poolTag }];

  async function describeAll(input: { Filters?: Filter[]; InstanceIds?: string[] }): Promise<PoolInstance[]> {
    const found: PoolInstance[] = [];
    let NextToken: string | undefined;
    do {
      const page = await call(() => ec2.send(new DescribeInstancesCommand({ ...input, NextToken })));
      for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []).map((i) => toPoolInstance(i, tags.member)));
      NextToken = page.NextToken;
    } while (NextToken);
    return found;
  }

  return {
    find({ states, memberId, tagged }) {
      const Filters: Filter[] = [
        { Name: `tag:${tags.pool}`, Values: [poolTag] },
        { Name: 'instance-state-name', Values: states },
      ];
      if (memberId !== undefined) Filters.push({ Name: `tag:${tags.member}`, Values: [memberId] });
      if (tagged) Filters.push({ Name: 'tag-key', Values: [tags.member] });
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
    async tag(instanceId, memberId) {
      await call(() => ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: tags.member, Value: memberId }] })));
    },
    async untag(instanceId, memberId) {
      await call(() => ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: [{ Key: tags.member, Value: memberId }] })));
    },
    async start(instanceId) {
      await call(() => ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));
    },
    async stop(instanceId) {
      await call(() => ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
    },
    async terminate(instanceId) {
      await call(() => ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    },
    async launch(template, memberId) {
      await call(() => checkLaunchTemplate(ec2, template, tags.template));
      const LaunchTemplate = templateRef(template);
      // One token for all tries: a retry after a lost answer must not launch a second instance.
      const ClientToken = randomUUID();
      const Tags = [...poolTags, { Key: tags.member, Value: memberId }];
      const answer = await call(() =>
        ec2.send(new RunInstancesCommand({ LaunchTemplate, MinCount: 1, MaxCount: 1, ClientToken, TagSpecifications: [{ ResourceType: 'instance', Tags }] })),
      );
      const instanceId = answer.Instances?.[0]?.InstanceId;
      if (!instanceId) throw new Error(`RunInstances from launch template ${template} returned no instance`);
      return instanceId;
    },
  };
}
