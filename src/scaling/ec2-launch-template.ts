import { DescribeLaunchTemplateVersionsCommand, type EC2Client, type ResponseLaunchTemplateData } from '@aws-sdk/client-ec2';

/** RunInstances' LaunchTemplate argument: an `lt-…` id or a name. */
export function templateRef(template: string): { LaunchTemplateId: string } | { LaunchTemplateName: string } {
  return /^lt-[0-9a-f]+$/.test(template) ? { LaunchTemplateId: template } : { LaunchTemplateName: template };
}

/** Which pool's instances a template launches: a cache node, or a web worker. */
export type TemplateKind = 'cache' | 'web';

const SECTION: Record<TemplateKind, string> = { cache: '"Launch template"', web: '"Web launch template"' };

/**
 * What a launch template must fix, as the providers send none of it: without a subnet EC2
 * uses the default VPC (where the pool's security group does not exist, or there is none),
 * without an instance type its default, and IMDSv2 keeps the instance's metadata from SSRF
 * reads. A web worker also needs its instance profile (it reads S3, the database's
 * neighbours and CloudWatch with it) and the instance's tags in its metadata: its user-data
 * reads its worker id from the emc:worker tag there.
 */
export function missingFromTemplate(data: ResponseLaunchTemplateData, kind: TemplateKind = 'cache'): string[] {
  const missing: string[] = [];
  if (!data.InstanceType && !data.InstanceRequirements) missing.push('an instance type (InstanceType)');
  if (!data.NetworkInterfaces?.some((n) => n.SubnetId)) missing.push('a subnet (NetworkInterfaces[0].SubnetId)');
  if (data.MetadataOptions?.HttpTokens !== 'required') missing.push('IMDSv2 (MetadataOptions.HttpTokens=required)');
  if (kind === 'web') {
    if (!data.IamInstanceProfile?.Arn && !data.IamInstanceProfile?.Name) missing.push('the web instance profile (IamInstanceProfile)');
    if (data.MetadataOptions?.InstanceMetadataTags !== 'enabled') missing.push('tags in the instance metadata (MetadataOptions.InstanceMetadataTags=enabled)');
  }
  return missing;
}

/** Resolves when the template's $Default version (the one RunInstances uses) has everything; a clear error otherwise. */
export async function checkLaunchTemplate(ec2: EC2Client, template: string, kind: TemplateKind = 'cache'): Promise<void> {
  const answer = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ ...templateRef(template), Versions: ['$Default'] }));
  const data = answer.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
  if (!data) throw new Error(`launch template ${template} has no default version`);
  const missing = missingFromTemplate(data, kind);
  if (missing.length > 0) {
    throw new Error(`launch template ${template} (default version) lacks ${missing.join(', ')}; see deploy/AWS.md, ${SECTION[kind]}`);
  }
}
