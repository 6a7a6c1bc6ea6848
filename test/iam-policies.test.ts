import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { policyNames, policyPlaceholders, renderPolicy } from '../deploy/render-policy.js';

// Every policy in deploy/iam/, rendered as an operator would, evaluated offline by an IAM
// policy simulator: an allow case for every AWS call the code makes, deny cases for what a role
// must never do. What only a real account shows (SCPs, the S3 403/404 rule, RunInstances'
// per-resource checks) is listed in deploy/AWS.md.
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const vars: Record<string, string> = {
  bucket: 'emc-images',
  prefix: 'images/',
  namespace: 'ElasticMemcache',
  pool: 'prod',
  region: REGION,
  account: ACCOUNT,
  launch_template_id: 'lt-0123456789abcdef0',
  web_launch_template_id: 'lt-0fedcba9876543210',
  web_role: 'emc-web',
  target_group_arn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/emc-web/0123456789abcdef`,
};

type Context = Record<string, string | string[]>;
type Case = { action: string; resource?: string; context?: Context };

const object = (key: string) => `arn:aws:s3:::emc-images/${key}`;
const bucket = 'arn:aws:s3:::emc-images';
const instance = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;
const inPool: Context = { 'aws:ResourceTag/emc:pool': 'prod' };
const template = `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/${vars.launch_template_id}`;
const webTemplate = `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/${vars.web_launch_template_id}`;
const inWebPool: Context = { 'aws:ResourceTag/emc:web-pool': 'prod' };
const targetGroup = vars.target_group_arn!;
const webRole = `arn:aws:iam::${ACCOUNT}:role/emc-web`;
/** The EC2 worker provider's calls (launch a worker, register it, read its health and the delay, drain and terminate it). */
const webPoolCalls: Case[] = [
  { action: 'ec2:DescribeLaunchTemplateVersions' },
  { action: 'ec2:RunInstances', resource: instance, context: { 'ec2:LaunchTemplate': webTemplate, 'ec2:IsLaunchTemplateResource': 'true' } },
  { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0web`, context: { 'ec2:LaunchTemplate': webTemplate, 'ec2:IsLaunchTemplateResource': 'true' } },
  { action: 'ec2:CreateTags', resource: instance, context: { 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/emc:web-pool': 'prod', 'aws:TagKeys': ['emc:web-pool', 'emc:worker'] } },
  { action: 'iam:PassRole', resource: webRole, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
  { action: 'elasticloadbalancing:RegisterTargets', resource: targetGroup },
  { action: 'elasticloadbalancing:DeregisterTargets', resource: targetGroup },
  { action: 'elasticloadbalancing:DescribeTargetHealth' },
  { action: 'elasticloadbalancing:DescribeTargetGroupAttributes' },
  { action: 'ec2:TerminateInstances', resource: instance, context: inWebPool },
];

async function decide(policy: string, { action, resource = '*', context = {} }: Case): Promise<string> {
  const rendered = JSON.parse(renderPolicy(policy, Object.fromEntries(policyPlaceholders(policy).map((p) => [p, vars[p]!]))));
  const simulation: Simulation = {
    identityPolicies: [{ name: policy, policy: rendered }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: { action, principal: `arn:aws:iam::${ACCOUNT}:role/emc-${policy}`, resource: { accountId: ACCOUNT, resource }, contextVariables: context },
  };
  const answer = await runSimulation(simulation, {});
  if (answer.resultType === 'error') throw new Error(`${policy} ${action}: ${JSON.stringify(answer.errors)}`);
  return answer.overallResult;
}

/** The calls of the S3 blob store (GetObject, PutObject, DeleteObject(s), ListObjectsV2 under the prefix). */
const blobStoreCalls: Case[] = [
  { action: 's3:GetObject', resource: object('images/0b1e…') },
  { action: 's3:PutObject', resource: object('images/0b1e…') },
  { action: 's3:DeleteObject', resource: object('images/0b1e…') },
  { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'images/' } },
  { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'images/0b1e…' } },
];
/** The EC2 provider's calls on pool members (find, start, stop, tag emc:node, untag it). */
const providerCalls: Case[] = [
  { action: 'ec2:DescribeInstances' },
  { action: 'ec2:StartInstances', resource: instance, context: inPool },
  { action: 'ec2:StopInstances', resource: instance, context: inPool },
  { action: 'ec2:CreateTags', resource: instance, context: { ...inPool, 'aws:TagKeys': ['emc:node'], 'aws:RequestTag/emc:node': 'node-3' } },
  { action: 'ec2:DeleteTags', resource: instance, context: { ...inPool, 'aws:TagKeys': ['emc:node'] } },
];
const readStatistics: Case = { action: 'cloudwatch:GetMetricData' };
const publishStatistics: Case = { action: 'cloudwatch:PutMetricData', context: { 'cloudwatch:namespace': 'ElasticMemcache' } };

/** What no role may do to the pool's instances. */
const poolAbuse: [string, Case][] = [
  ['delete every tag (DeleteTags without a tag list)', { action: 'ec2:DeleteTags', resource: instance, context: inPool }],
  ['remove an instance from its pool', { action: 'ec2:DeleteTags', resource: instance, context: { ...inPool, 'aws:TagKeys': ['emc:pool'] } }],
  ['move an instance to another pool', { action: 'ec2:CreateTags', resource: instance, context: { ...inPool, 'aws:TagKeys': ['emc:pool'] } }],
  ['tag with a key the code never writes', { action: 'ec2:CreateTags', resource: instance, context: { ...inPool, 'aws:TagKeys': ['emc:node', 'Name'] } }],
  ['start an instance outside the pool', { action: 'ec2:StartInstances', resource: instance, context: { 'aws:ResourceTag/emc:pool': 'other' } }],
  ['stop an untagged instance', { action: 'ec2:StopInstances', resource: instance }],
  ['tag an instance outside the pool', { action: 'ec2:CreateTags', resource: instance, context: { 'aws:TagKeys': ['emc:node'] } }],
  ['terminate a pool instance', { action: 'ec2:TerminateInstances', resource: instance, context: inPool }],
  ['launch without the launch-template policy', { action: 'ec2:RunInstances', resource: instance }],
];
const s3Abuse: [string, Case][] = [
  ['read outside the prefix', { action: 's3:GetObject', resource: object('secrets/x') }],
  ['list outside the prefix', { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': 'secrets/' } }],
  ['list the whole bucket', { action: 's3:ListBucket', resource: bucket }],
  ['delete the bucket', { action: 's3:DeleteBucket', resource: bucket }],
];

async function expect(policy: string, cases: Case[], result: 'Allowed' | 'denied') {
  for (const c of cases) {
    const got = await decide(policy, c);
    if (result === 'Allowed') assert.equal(got, 'Allowed', `${policy} may ${c.action} ${c.resource ?? ''} ${JSON.stringify(c.context ?? {})}`);
    else assert.notEqual(got, 'Allowed', `${policy} must not ${c.action} ${c.resource ?? ''} ${JSON.stringify(c.context ?? {})}`);
  }
}

describe('IAM policies, simulated', () => {
  it('covers every policy file', () => {
    assert.deepEqual(policyNames(), ['ec2-launch', 'ec2-trust-policy', 'manager', 'scaler', 'web', 'web-pool']);
  });

  const ec2Anything = ['DescribeInstances', 'StartInstances', 'StopInstances', 'CreateTags', 'DeleteTags', 'RunInstances', 'TerminateInstances', 'DescribeLaunchTemplateVersions'];
  const anyEc2Call = ec2Anything.map((a) => ({ action: `ec2:${a}`, resource: a.startsWith('Describe') ? '*' : instance, context: inPool }));

  it('web: images and statistics read, the statistics of a web-pool worker published into its namespace only; no EC2 call (configure_cache?numNodes= only records the desired size)', async () => {
    await expect('web', [...blobStoreCalls, readStatistics, publishStatistics], 'Allowed');
    await expect('web', [{ action: 'cloudwatch:PutMetricData', context: { 'cloudwatch:namespace': 'AWS/EC2' } }, ...anyEc2Call], 'denied');
  });

  it('manager: images, statistics read, the pool it leads started and stopped, statistics published into its namespace only', async () => {
    await expect('manager', [...blobStoreCalls, ...providerCalls, readStatistics, publishStatistics], 'Allowed');
    await expect('manager', [{ action: 'cloudwatch:PutMetricData', context: { 'cloudwatch:namespace': 'AWS/EC2' } }], 'denied');
  });

  for (const role of ['web', 'manager']) {
    for (const [what, c] of [...poolAbuse, ...s3Abuse]) {
      it(`${role} may not ${what}`, async () => expect(role, [c], 'denied'));
    }
  }

  it('scaler: reads statistics and nothing else (it only decides; no EC2 call at all)', async () => {
    await expect('scaler', [readStatistics], 'Allowed');
    await expect('scaler', anyEc2Call, 'denied');
    await expect('scaler', [...blobStoreCalls, publishStatistics], 'denied');
  });

  it('ec2-launch: RunInstances only from the cache template with its own resources, tagged into the pool', async () => {
    const fromTemplate = { 'ec2:LaunchTemplate': template, 'ec2:IsLaunchTemplateResource': 'true' };
    await expect('ec2-launch', [
      { action: 'ec2:DescribeLaunchTemplateVersions' },
      { action: 'ec2:RunInstances', resource: instance, context: fromTemplate },
      { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0abc`, context: fromTemplate },
      { action: 'ec2:CreateTags', resource: instance, context: { 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/emc:pool': 'prod', 'aws:TagKeys': ['emc:pool', 'emc:node'] } },
    ], 'Allowed');
    await expect('ec2-launch', [
      // A template without a subnet: EC2 picks the default VPC's subnet, which is no launch-template resource.
      { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-default`, context: { 'ec2:LaunchTemplate': template, 'ec2:IsLaunchTemplateResource': 'false' } },
      { action: 'ec2:RunInstances', resource: instance, context: { 'ec2:LaunchTemplate': `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/lt-0other`, 'ec2:IsLaunchTemplateResource': 'true' } },
      { action: 'ec2:RunInstances', resource: instance },
      { action: 'ec2:CreateTags', resource: instance, context: { 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/emc:pool': 'other' } },
      { action: 'ec2:CreateTags', resource: instance, context: inPool },
      { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/emc-manager` },
    ], 'denied');
  });

  it('web-pool: the EC2 worker provider launches from the web template, passes the web role, registers, drains and terminates web workers', async () => {
    await expect('web-pool', webPoolCalls, 'Allowed');
  });

  const webPoolAbuse: [string, Case][] = [
    ['terminate a cache instance', { action: 'ec2:TerminateInstances', resource: instance, context: inPool }],
    ['terminate an instance of another web pool', { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/emc:web-pool': 'other' } }],
    ['launch from another template (the cache one)', { action: 'ec2:RunInstances', resource: instance, context: { 'ec2:LaunchTemplate': template, 'ec2:IsLaunchTemplateResource': 'true' } }],
    ['launch into a subnet the web template does not name', { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-default`, context: { 'ec2:LaunchTemplate': webTemplate, 'ec2:IsLaunchTemplateResource': 'false' } }],
    ['tag a launch into another web pool', { action: 'ec2:CreateTags', resource: instance, context: { 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/emc:web-pool': 'other' } }],
    ['tag a running instance into the web pool (to terminate it next)', { action: 'ec2:CreateTags', resource: instance, context: { 'aws:RequestTag/emc:web-pool': 'prod', 'aws:TagKeys': ['emc:web-pool'] } }],
    ['pass the manager role', { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/emc-manager`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }],
    ['pass the web role to another service', { action: 'iam:PassRole', resource: webRole, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } }],
    ['register in another target group', { action: 'elasticloadbalancing:RegisterTargets', resource: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/other/0123456789abcdef` }],
    ['change the target group', { action: 'elasticloadbalancing:ModifyTargetGroupAttributes', resource: targetGroup }],
    ['delete the target group', { action: 'elasticloadbalancing:DeleteTargetGroup', resource: targetGroup }],
  ];
  for (const [what, c] of webPoolAbuse) {
    it(`web-pool may not ${what}`, async () => expect('web-pool', [c], 'denied'));
  }

  it('web and scaler: nothing of the web pool (only the leader manager runs it)', async () => {
    for (const role of ['web', 'scaler']) await expect(role, webPoolCalls, 'denied');
  });
});
