import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
  type InstanceStateName,
  type RequestLaunchTemplateData,
  type RunInstancesCommandInput,
  type Tag,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

/** One instance of the fake account; tests change `state` to act behind the provider's back. */
export type FakeInstance = {
  id: string;
  state: InstanceStateName;
  tags: Record<string, string>;
  privateIp: string;
  publicIp?: string;
  /** Describes left before a pending or stopping instance settles (1 when a test sets the state itself). */
  looks?: number;
  /** Set: a start fails as EC2 reports it (pending, then stopped with this reason), e.g. for want of capacity. */
  failsToStart?: { Code: string; Message: string };
  stateReason?: { Code: string; Message: string };
};

export type FakeEc2Options = {
  pageSize?: number;
  /** How many DescribeInstances calls a started instance stays pending for; EC2 takes tens of seconds. */
  pendingLooks?: number;
  /** How many DescribeInstances calls a stopped instance stays stopping for; EC2 takes up to minutes. */
  stoppingLooks?: number;
  /** Launch templates by name: their $Default version's data. */
  templates?: Record<string, RequestLaunchTemplateData>;
};

export function awsError(name: string, status = 400): EC2ServiceException {
  return new EC2ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} (fake)` });
}

const matches = (i: FakeInstance, { Name = '', Values = [] }: Filter) =>
  Name === 'instance-state-name'
    ? Values.includes(i.state)
    : Name === 'tag-key'
      ? Values.some((key) => key in i.tags)
      : Name.startsWith('tag:') && Values.includes(i.tags[Name.slice(4)] ?? '\0');

/**
 * An EC2 account in memory behind aws-sdk-client-mock, modelling what moto does not: the
 * pending and stopping windows (counted in DescribeInstances calls), IncorrectInstanceState
 * for StartInstances on a stopping instance and StopInstances on a pending one
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), and a start
 * that fails after pending with a state reason. DescribeInstances honours the filters and
 * pages `pageSize` at a time. The client points at a closed loopback port, so nothing could
 * leave the machine anyway.
 */
export function fakeEc2(instances: FakeInstance[], { pageSize = 2, pendingLooks = 1, stoppingLooks = 1, templates = {} }: FakeEc2Options = {}) {
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(ec2);
  const failures = new Map<string, Error[]>();
  let launched = 0;

  const failure = (command: string) => failures.get(command)?.shift();
  const byId = (id: string) => {
    const found = instances.find((i) => i.id === id);
    if (!found) throw awsError('InvalidInstanceID.NotFound');
    return found;
  };
  const tagsOf = (tags: Tag[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
  const toEc2 = (i: FakeInstance) => ({
    InstanceId: i.id,
    State: { Name: i.state },
    Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
    PrivateIpAddress: i.privateIp,
    PublicIpAddress: i.publicIp,
    StateReason: i.stateReason,
  });
  const settle = (i: FakeInstance) => {
    if (i.state !== 'pending' && i.state !== 'stopping' && i.state !== 'shutting-down') return;
    i.looks = (i.looks ?? 1) - 1;
    if (i.looks > 0) return;
    delete i.looks;
    if (i.state === 'stopping') i.state = 'stopped';
    else if (i.state === 'shutting-down') i.state = 'terminated';
    else if (i.failsToStart) [i.state, i.stateReason] = ['stopped', i.failsToStart];
    else i.state = 'running';
  };
  const handle = <I>(command: string, act: (input: I) => unknown) => async (input: I) => {
    const error = failure(command);
    if (error) throw error;
    return act(input);
  };

  mock.on(DescribeInstancesCommand).callsFake(
    handle('DescribeInstances', ({ Filters = [], InstanceIds, NextToken }: { Filters?: Filter[]; InstanceIds?: string[]; NextToken?: string }) => {
      const selected = InstanceIds ? InstanceIds.map(byId) : instances.filter((i) => Filters.every((f) => matches(i, f)));
      const from = Number(NextToken ?? 0);
      const page = selected.slice(from, from + pageSize);
      const answer = { Reservations: page.map((i) => ({ Instances: [toEc2(i)] })), NextToken: from + pageSize < selected.length ? String(from + pageSize) : undefined };
      for (const i of instances) settle(i);
      return answer;
    }),
  );
  mock.on(StartInstancesCommand).callsFake(
    handle('StartInstances', ({ InstanceIds = [] }: { InstanceIds?: string[] }) => {
      for (const i of InstanceIds.map(byId)) {
        if (i.state === 'stopping' || i.state === 'terminated') throw awsError('IncorrectInstanceState');
        if (i.state === 'stopped') Object.assign(i, { state: 'pending', looks: pendingLooks, stateReason: undefined });
      }
      return { StartingInstances: [] };
    }),
  );
  mock.on(StopInstancesCommand).callsFake(
    handle('StopInstances', ({ InstanceIds = [] }: { InstanceIds?: string[] }) => {
      for (const i of InstanceIds.map(byId)) {
        if (i.state === 'pending' || i.state === 'terminated') throw awsError('IncorrectInstanceState');
        if (i.state === 'running') Object.assign(i, { state: 'stopping', looks: stoppingLooks, stateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'User initiated shutdown' } });
      }
      return { StoppingInstances: [] };
    }),
  );
  mock.on(TerminateInstancesCommand).callsFake(
    handle('TerminateInstances', ({ InstanceIds = [] }: { InstanceIds?: string[] }) => {
      // Any state but terminated goes shutting-down; terminating a terminated instance succeeds.
      for (const i of InstanceIds.map(byId)) if (i.state !== 'terminated') Object.assign(i, { state: 'shutting-down', looks: 1 });
      return { TerminatingInstances: [] };
    }),
  );
  mock.on(CreateTagsCommand).callsFake(
    handle('CreateTags', ({ Resources = [], Tags }: { Resources?: string[]; Tags?: Tag[] }) => {
      for (const i of Resources.map(byId)) Object.assign(i.tags, tagsOf(Tags));
      return {};
    }),
  );
  mock.on(DeleteTagsCommand).callsFake(
    handle('DeleteTags', ({ Resources = [], Tags = [] }: { Resources?: string[]; Tags?: Tag[] }) => {
      for (const i of Resources.map(byId)) for (const t of Tags) if (t.Value === undefined || i.tags[t.Key!] === t.Value) delete i.tags[t.Key!];
      return {};
    }),
  );
  mock.on(DescribeLaunchTemplateVersionsCommand).callsFake(
    handle('DescribeLaunchTemplateVersions', ({ LaunchTemplateName = '', LaunchTemplateId }: { LaunchTemplateName?: string; LaunchTemplateId?: string }) => {
      const data = templates[LaunchTemplateId ?? LaunchTemplateName];
      if (!data) throw awsError('InvalidLaunchTemplateName.NotFoundException');
      return { LaunchTemplateVersions: [{ LaunchTemplateName, VersionNumber: 1, DefaultVersion: true, LaunchTemplateData: data }] };
    }),
  );
  mock.on(RunInstancesCommand).callsFake(
    handle('RunInstances', (input: RunInstancesCommandInput) => {
      launched += 1;
      const instance: FakeInstance = { id: `i-launched${launched}`, state: 'pending', tags: tagsOf(input.TagSpecifications?.[0]?.Tags), privateIp: `10.0.9.${launched}` };
      instances.push(instance);
      return { Instances: [toEc2(instance)] };
    }),
  );

  return {
    ec2,
    mock,
    instances,
    /** The next calls of `command` fail with these errors, in order. */
    failNext: (command: string, ...errors: Error[]) => failures.set(command, [...(failures.get(command) ?? []), ...errors]),
    calls: (command: string) => mock.calls().filter((c) => c.args[0].constructor.name === `${command}Command`).map((c) => c.args[0].input as Record<string, unknown>),
  };
}
