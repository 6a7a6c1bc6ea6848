import { DescribeLaunchTemplateVersionsCommand, type EC2Client, type ResponseLaunchTemplateData } from '@aws-sdk/client-ec2';

/** RunInstances' LaunchTemplate argument: an `lt-…` id or a name. */
export function templateRef(template: string): { LaunchTemplateId: string } | { LaunchTemplateName: string } {
  return /^lt-[0-9a-f]+$/.test(template) ? { LaunchTemplateId: template } : { LaunchTemplateName: template };
}

/**
 * What a cache launch template must fix, as the provider sends none of it: without a subnet EC2
 * uses the default VPC (where the cache security group does not exist, or there is none), without
 * an instance type its default, and IMDSv2 keeps the instance's metadata from SSRF reads.
 */
export function missingFromTemplate(data: ResponseLaunchTemplateData): string[] {
  const missing: string[] = [];
  if (!data.InstanceType && !data.InstanceRequirements) missing.push('an instance type (InstanceType)');
  if (!data.NetworkInterfaces?.some((n) => n.SubnetId)) missing.push('a subnet (NetworkInterfaces[0].SubnetId)');
  if (data.MetadataOptions?.HttpTokens !== 'required') missing.push('IMDSv2 (MetadataOptions.HttpTokens=required)');
  return missing;
}

/** Resolves when the template's $Default version (the one RunInstances uses) has everything; a clear error otherwise. */
export async function checkLaunchTemplate(ec2: EC2Client, template: string): Promise<void> {
  const answer = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ ...templateRef(template), Versions: ['$Default'] }));
  const data = answer.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
  if (!data) throw new Error(`launch template ${template} has no default version`);
  const missing = missingFromTemplate(data);
  if (missing.length > 0) {
    throw new Error(`launch template ${template} (default version) lacks ${missing.join(', ')}; see deploy/AWS.md, "Launch template"`);
  }
}
