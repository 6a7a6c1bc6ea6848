// Fills the `${name}` placeholders of an IAM policy in deploy/iam/ (IAM's own variables,
// like ${aws:username}, contain a colon and are left alone).
//
//   npx tsx deploy/render-policy.ts manager bucket=my-images prefix=images/ namespace=ElasticMemcache pool=prod > manager-policy.json
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAssignments, RenderError } from './render-user-data.js';

export const IAM_DIR = join(dirname(fileURLToPath(import.meta.url)), 'iam');
const PLACEHOLDER = /\$\{([a-z_]+)\}/g;
/** Only the S3 prefix may be empty (the whole bucket); a value is a name, never a wildcard or a quote. */
const MAY_BE_EMPTY = new Set(['prefix']);
const SAFE_VALUE = /^[A-Za-z0-9._\-/:+=@,]*$/;

export function policyNames(): string[] {
  return readdirSync(IAM_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** The placeholders a policy needs, e.g. ["bucket", "namespace", "prefix"]. */
export function policyPlaceholders(name: string): string[] {
  return [...new Set([...readPolicy(name).matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();
}

export function renderPolicy(name: string, vars: Record<string, string>): string {
  const text = readPolicy(name);
  const needed = policyPlaceholders(name);
  for (const key of Object.keys(vars)) {
    if (!needed.includes(key)) throw new RenderError(`${key}: policy ${name} has no \${${key}} (it needs: ${needed.join(', ') || 'nothing'})`);
  }
  for (const key of needed) {
    const value = vars[key];
    if (value === undefined || (value === '' && !MAY_BE_EMPTY.has(key))) throw new RenderError(`${key} is required for policy ${name}`);
    if (!SAFE_VALUE.test(value)) throw new RenderError(`${key}=${JSON.stringify(value)}: only letters, digits and . _ - / : + = @ , are allowed`);
  }
  const rendered = text.replace(PLACEHOLDER, (_, key: string) => vars[key]!);
  JSON.parse(rendered); // the allowlist above keeps it JSON; make sure
  return rendered;
}

function readPolicy(name: string): string {
  if (!policyNames().includes(name)) throw new RenderError(`unknown policy "${name}": expected one of ${policyNames().join(', ')}`);
  return readFileSync(join(IAM_DIR, `${name}.json`), 'utf8');
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const [name, ...assignments] = process.argv.slice(2);
  try {
    if (!name || name === '-h' || name === '--help') {
      throw new RenderError(`usage: tsx deploy/render-policy.ts <${policyNames().join('|')}> name=value... > policy.json`);
    }
    process.stdout.write(renderPolicy(name, parseAssignments(assignments)));
  } catch (err) {
    console.error(err instanceof RenderError ? err.message : err);
    process.exit(2);
  }
}
