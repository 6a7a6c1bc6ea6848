// Renders deploy/user-data.yaml.tpl for one role: the cloud-init user-data that writes the
// environment file and the systemd unit on an instance booted from the project's AMI. The
// unit runs the compiled app (`node dist/cli.js`); a cache node gets the Node options of
// CACHE_NODE_EXEC_ARGV on its ExecStart and the variables of CACHE_NODE_ENV as `Environment=`
// lines of its unit, the same ones the process provider gives its children.
//
//   npx tsx deploy/render-user-data.ts <role> KEY=VALUE... > user-data.yaml
//
// The variables are checked before anything is written: the role's required ones, every
// value against the app's own configuration schema, no AWS credentials at all (the
// instance profile supplies them through the SDK's default provider chain), and for a
// cache node nothing but what a cache node reads (it holds no database credentials).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EnvSchema, loadConfig, roles, type Role } from '../src/config/config.js';
import { CACHE_NODE_ENV, CACHE_NODE_EXEC_ARGV } from '../src/roles/cache/cache-node-launch.js';

export class RenderError extends Error {}

type Requirement = { name: string; pattern?: RegExp; hint: string };

const postgres: Requirement = {
  name: 'DATABASE_URL',
  pattern: /^postgres(ql)?:\/\//,
  hint: 'the shared RDS PostgreSQL database, postgres://user:password@host:5432/db?sslmode=...',
};
const s3: Requirement[] = [
  { name: 'EMC_BLOB_STORE', pattern: /^s3$/, hint: 'must be s3: every web and manager host shares one image store' },
  { name: 'EMC_S3_BUCKET', hint: 'the S3 bucket holding the images' },
];
const ec2: Requirement = { name: 'EMC_PROVIDER', pattern: /^ec2$/, hint: 'must be ec2: the cache nodes are EC2 instances' };
const poolTag: Requirement = { name: 'EMC_EC2_POOL_TAG', hint: 'the value of the emc:pool tag on the cache instances' };
const adminPassword: Requirement = { name: 'EMC_ADMIN_PASSWORD', hint: 'the manager console login (at least 8 characters)' };
// EC2 nodes boot from their user-data, not from a provider that could hand them a generated
// token: without this the cache API would be open to everything on the VPC.
const cacheToken: Requirement = { name: 'EMC_CACHE_TOKEN', hint: 'the bearer token every cache-node call carries (the same on web, manager and cache hosts; at least 16 characters)' };

/** What each role cannot run without on AWS (the app's own defaults are for one laptop). */
export const REQUIRED: Record<Role, readonly Requirement[]> = {
  // web and scaler only record desired sizes; the leader manager alone reaches the instances (EMC_PROVIDER=ec2 keeps split roles off in-process shards).
  web: [postgres, ...s3, ec2, cacheToken],
  manager: [postgres, ...s3, ec2, poolTag, adminPassword, cacheToken],
  // Only its token: the manager sends a node the shared cache configuration when it joins.
  cache: [cacheToken],
  scaler: [postgres, ec2],
  // One self-contained host: embedded SQLite and files under EMC_DATA_DIR unless told otherwise.
  all: [adminPassword],
};

/**
 * Everything a cache node reads. It holds no database, metrics or data-folder settings and
 * makes no AWS call: the pool's manager sends it the shared cache configuration (when it
 * joins and on every reconcile) and reads its /stats to publish them. So its user-data
 * carries no secret but EMC_CACHE_TOKEN, and anything else given for it is refused.
 */
export const CACHE_READS: ReadonlySet<string> = new Set(['EMC_HOST', 'EMC_CACHE_PORT', 'EMC_CACHE_TOKEN', 'EMC_LOG_LEVEL', 'EMC_LOG_FORMAT', 'EMC_NODE_ID']);

/** Set unless given: listen on the instance's interfaces, keep data in the unit's StateDirectory (not for a cache node). */
export function defaultsFor(role: Role): Record<string, string> {
  return role === 'cache' ? { EMC_HOST: '0.0.0.0' } : { EMC_HOST: '0.0.0.0', EMC_DATA_DIR: '/var/lib/elastic-memcache' };
}

export const APP_DIR = '/opt/elastic-memcache';
const NODE = '/usr/bin/node';
/** One Node option, safe on a systemd command line unquoted (no spaces, quotes or "%" specifiers). */
const SAFE_NODE_OPTION = /^--[a-z0-9-]+(=[A-Za-z0-9._,:/-]+)?$/;

/** The unit's command line: the compiled app, with the cache node's Node options for role cache. */
export function execStart(role: Role): string {
  const options = role === 'cache' ? [...CACHE_NODE_EXEC_ARGV] : [];
  for (const option of options) {
    if (!SAFE_NODE_OPTION.test(option)) throw new RenderError(`cache node option ${JSON.stringify(option)} cannot go on a systemd command line as is`);
  }
  return [NODE, ...options, `${APP_DIR}/dist/cli.js`, 'start', '--role', role].join(' ');
}

/** An assignment that needs no quoting on a systemd `Environment=` line (no spaces, quotes, backslashes or "%" specifiers). */
const SAFE_UNIT_ASSIGNMENT = /^[A-Za-z0-9._,:\/=+-]+$/;

/**
 * One `Environment=` assignment for a systemd unit: as is when it is safe, otherwise
 * double-quoted with backslashes and quotes escaped and "%" doubled (systemd expands
 * specifiers, then unquotes; it never expands "$" there).
 */
export function unitEnvironmentAssignment(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RenderError(`${JSON.stringify(name)} is not a variable name systemd accepts`);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(value)) {
    throw new RenderError(`${name}: the value contains a line break or another control character`);
  }
  const assignment = `${name}=${value}`;
  return SAFE_UNIT_ASSIGNMENT.test(assignment) ? assignment : `"${assignment.replace(/["\\]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}

/** The unit's own `Environment=` lines: CACHE_NODE_ENV for role cache, none for the others. */
export function unitEnvironment(role: Role): string[] {
  const env = role === 'cache' ? CACHE_NODE_ENV : {};
  return Object.entries(env).map(([name, value]) => `Environment=${unitEnvironmentAssignment(name, value)}`);
}

/**
 * Role web's first-boot step: EMC_WORKER_ID, the worker's id in the web pool, from the instance's
 * emc:worker tag (the leader tags each worker it launches; the web launch template puts the
 * instance's tags in its metadata), else the instance id (a web host outside the pool); and
 * EMC_INSTANCE_ID, the instance's id (the worker's CPU is EC2's CPUUtilization of it). The first
 * labels the worker's logs and keys its statistics; both are per instance, never part of the user-data.
 */
export const WEB_WORKER_ID_RUNCMD = [
  '  - - sh',
  '    - -c',
  '    - >-',
  "      grep -q '^EMC_WORKER_ID=' /etc/elastic-memcache/env ||",
  "      { t=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&",
  '      i=$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/instance-id) &&',
  '      w=$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/tags/instance/emc:worker || echo "$i") &&',
  "      printf 'EMC_WORKER_ID=%s\\nEMC_INSTANCE_ID=%s\\n' \"$w\" \"$i\" >> /etc/elastic-memcache/env; }",
];

/** Besides the app's own variables: the SDK's region (found from instance metadata when absent) and Node's options. */
const EXTRA = new Set(['AWS_REGION', 'NODE_OPTIONS']);
const CREDENTIALS = /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|SHARED_CREDENTIALS_FILE|CONFIG_FILE)$/;

const here = dirname(fileURLToPath(import.meta.url));
export const TEMPLATE_PATH = join(here, 'user-data.yaml.tpl');
const ENV_INDENT = ' '.repeat(6);

export function renderUserData(role: string, vars: Record<string, string>): string {
  if (!(roles as readonly string[]).includes(role)) {
    throw new RenderError(`unknown role "${role}": expected one of ${roles.join(', ')}`);
  }
  const env = checkedEnvironment(role as Role, vars);
  const lines = ['NODE_ENV=production', ...Object.entries(env).map(([key, value]) => `${key}=${quoteEnvValue(value)}`)];
  const filled: Record<string, string> = { ROLE: role, EXEC_START: execStart(role as Role) };
  // Placeholders alone on their line stand for whole lines (none at all when the list is empty).
  const blocks: Record<string, string[]> = {
    ENVIRONMENT: lines.map((line) => ENV_INDENT + line),
    UNIT_ENVIRONMENT: unitEnvironment(role as Role).map((line) => ENV_INDENT + line),
    ROLE_RUNCMD: role === 'web' ? WEB_WORKER_ID_RUNCMD : [],
  };
  // One pass: a value that happens to contain "{{" is never read as a placeholder.
  return readFileSync(TEMPLATE_PATH, 'utf8').replace(/^\{\{([A-Z_]+)\}\}\n|\{\{([A-Z_]+)\}\}/gm, (_, block?: string, inline?: string) => {
    const value = block !== undefined ? blocks[block]?.map((line) => `${line}\n`).join('') : filled[inline!];
    if (value === undefined) throw new RenderError(`the template has an unknown placeholder {{${block ?? inline}}}`);
    return value;
  });
}

function checkedEnvironment(role: Role, vars: Record<string, string>): Record<string, string> {
  const known = new Set(Object.keys(EnvSchema.shape));
  for (const [name, value] of Object.entries(vars)) {
    if (CREDENTIALS.test(name)) {
      throw new RenderError(`${name}: AWS credentials never go into the configuration; attach the role's instance profile instead`);
    }
    if (name === 'EMC_ROLE' && value !== role) throw new RenderError(`EMC_ROLE=${JSON.stringify(value)} contradicts the role "${role}"`);
    if (name === 'EMC_WORKER_ID' || name === 'EMC_INSTANCE_ID') {
      throw new RenderError(`${name}: every instance launched from this user-data would share it; a web worker reads its own from its instance metadata at first boot`);
    }
    if (!known.has(name) && !EXTRA.has(name)) throw new RenderError(`${name}: not a variable elastic-memcache reads (a typo?)`);
    if (role === 'cache' && known.has(name) && name !== 'EMC_ROLE' && !CACHE_READS.has(name)) {
      throw new RenderError(
        `${name}: a cache node does not read it (it holds no database credentials and publishes nothing: ` +
          `the manager configures it and publishes its statistics); a cache node reads only ${[...CACHE_READS].join(', ')}`,
      );
    }
    // A line break (for the env file or for YAML, which also breaks at U+0085, U+2028 and U+2029)
    // or any other control character could add lines, or whole cloud-init keys, to the user-data.
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(value)) {
      throw new RenderError(`${name}: the value contains a line break or another control character`);
    }
  }
  for (const need of REQUIRED[role]) {
    const value = vars[need.name];
    if (value === undefined || value === '') throw new RenderError(`${need.name} is required for role ${role}: ${need.hint}`);
    if (need.pattern && !need.pattern.test(value)) {
      throw new RenderError(`${need.name}=${JSON.stringify(value)} does not fit role ${role}: ${need.hint}`);
    }
  }
  const env: Record<string, string> = defaultsFor(role);
  for (const [name, value] of Object.entries(vars)) if (name !== 'EMC_ROLE' && value !== '') env[name] = value;
  try {
    // The same validation the app runs at start, so a bad value fails here and not on the instance.
    loadConfig({ ...env, EMC_ROLE: role });
  } catch (err) {
    throw new RenderError((err as Error).message);
  }
  return env;
}

/**
 * A value for a systemd EnvironmentFile (and a POSIX shell): double-quoted, with the four
 * characters that are special inside double quotes escaped. Control characters are refused
 * before this, so a value is always exactly one line.
 */
export function quoteEnvValue(value: string): string {
  return `"${value.replace(/["\\$`]/g, (c) => `\\${c}`)}"`;
}

/** `KEY=VALUE` arguments (the value may itself contain "="). */
export function parseAssignments(args: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new RenderError(`"${arg}" is not KEY=VALUE`);
    vars[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return vars;
}

const usage = `usage: tsx deploy/render-user-data.ts <${roles.join('|')}> KEY=VALUE... > user-data.yaml`;

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const [role, ...assignments] = process.argv.slice(2);
  try {
    if (!role || role === '-h' || role === '--help') throw new RenderError(usage);
    process.stdout.write(renderUserData(role, parseAssignments(assignments)));
  } catch (err) {
    console.error(err instanceof RenderError ? err.message : err);
    process.exit(2);
  }
}
