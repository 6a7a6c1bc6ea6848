import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Filter,
  type InstanceStateName,
  type RunInstancesCommandInput,
  type Tag,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

/** One instance of the fake account; tests change `state` to act behind the provider's back. */
export type FakeInstance = { id: string; state: InstanceStateName; tags: Record<string, string>; privateIp: string; publicIp?: string };

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
 * An EC2 account in memory behind aws-sdk-client-mock: DescribeInstances honours the
 * filters and pages `pageSize` at a time; a started instance is pending for one describe.
 * The client points at a closed loopback port, so nothing could leave the machine anyway.
 */
export function fakeEc2(instances: FakeInstance[], { pageSize = 2 } = {}) {
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
  });
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
      for (const i of instances) if (i.state === 'pending') i.state = 'running'; // booted by the next look
      return answer;
    }),
  );
  mock.on(StartInstancesCommand).callsFake(
    handle('StartInstances', ({ InstanceIds = [] }: { InstanceIds?: string[] }) => {
      for (const i of InstanceIds.map(byId)) {
        if (i.state === 'stopping' || i.state === 'terminated') throw awsError('IncorrectInstanceState');
        if (i.state === 'stopped') i.state = 'pending';
      }
      return { StartingInstances: [] };
    }),
  );
  mock.on(StopInstancesCommand).callsFake(
    handle('StopInstances', ({ InstanceIds = [] }: { InstanceIds?: string[] }) => {
      for (const i of InstanceIds.map(byId)) if (i.state !== 'terminated') i.state = 'stopped';
      return { StoppingInstances: [] };
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
