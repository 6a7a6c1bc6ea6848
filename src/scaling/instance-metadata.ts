import { request } from 'node:http';

export type InstanceMetadataOptions = {
  /** The metadata service; only tests pass another (a loopback fake). */
  baseUrl?: string;
  /** Deadline of each of the two requests: off EC2 the address may not answer at all. */
  timeoutMs?: number;
};

const TOKEN_TTL_S = 60;

type Answer = { status: number; body: string } | undefined;

/** One request without keep-alive; undefined when nothing answered in time. */
function send(method: 'GET' | 'PUT', url: string, headers: Record<string, string>, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers, agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * Reads one metadata path (e.g. `instance-id`, `tags/instance/emc:node`) with IMDSv2:
 * a session token first, then the value. Resolves undefined when not on EC2 (nothing
 * answers), when the path does not exist (tags not exposed) or on any other refusal.
 */
export async function readInstanceMetadata(path: string, options: InstanceMetadataOptions = {}): Promise<string | undefined> {
  const { baseUrl = 'http://169.254.169.254', timeoutMs = 1000 } = options;
  const token = await send('PUT', `${baseUrl}/latest/api/token`, { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) }, timeoutMs);
  if (token?.status !== 200 || token.body === '') return undefined;
  const answer = await send('GET', `${baseUrl}/latest/meta-data/${path}`, { 'x-aws-ec2-metadata-token': token.body }, timeoutMs);
  return answer?.status === 200 && answer.body !== '' ? answer.body.trim() : undefined;
}

/** This instance's id (`i-…`), or undefined when not on EC2. A cache node names itself with it. */
export async function readInstanceId(options: InstanceMetadataOptions = {}): Promise<string | undefined> {
  const id = await readInstanceMetadata('instance-id', options);
  return id !== undefined && /^i-[0-9a-f]{8,32}$/.test(id) ? id : undefined;
}
