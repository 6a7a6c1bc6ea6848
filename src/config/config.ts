// Configuration is read from the environment once, at start, and validated
// here; nothing else in the program reads process.env.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ROUTER_KINDS, type RouterKind } from '../pool/router.js';
import { GENERATED_PASSWORD_COST, generatePassword, hashPassword } from '../roles/manager/admin-password.js';
import { PROVIDER_KINDS, type ProviderKind } from '../scaling/node-provider.js';
import { WEB_POOL_KINDS, type WebPoolKind } from '../scaling/worker-provider.js';

export const roles = ['web', 'manager', 'cache', 'scaler', 'all'] as const;
export type Role = (typeof roles)[number];

const port = z.coerce.number().int().min(1).max(65535);
const optionalSecret = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

export const EnvSchema = z.object({
  EMC_ROLE: z.enum(roles).default('all'),
  EMC_HOST: z.string().min(1).default('127.0.0.1'),
  EMC_WEB_PORT: port.default(5000),
  EMC_MANAGER_PORT: port.default(5002),
  EMC_CACHE_PORT: port.default(5001),
  EMC_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, 'must be a file: (SQLite) or postgres:// URL')
    .optional(),
  EMC_DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  EMC_BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  EMC_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  EMC_S3_PREFIX: z.string().max(512).default('images/'),
  /** An S3-compatible endpoint (tests, MinIO); AWS itself needs none. */
  EMC_S3_ENDPOINT: z.url().optional(),
  EMC_METRICS: z.enum(['db', 'cloudwatch']).default('db'),
  EMC_CW_NAMESPACE: z.string().regex(/^[\w./#:-]{1,255}$/, 'must be a CloudWatch namespace').default('ElasticMemcache'),
  EMC_EC2_POOL_TAG: z.string().regex(/^[\w.:/=+@-]{1,200}$/, 'must be a tag value').default('default'),
  EMC_EC2_ADDRESS: z.enum(['private', 'public']).default('private'),
  EMC_EC2_LAUNCH_TEMPLATE: z.string().min(1).optional(),
  EMC_RECONCILE_S: z.coerce.number().positive().max(3600).default(30),
  EMC_UPLOAD_LIMIT_MB: z.coerce.number().positive().max(1024).default(10),
  EMC_ROUTING: z.enum(ROUTER_KINDS).default('ring'),
  EMC_STATS_INTERVAL_S: z.coerce.number().positive().max(3600).default(5),
  EMC_CACHE_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Bytes of hot images a web process keeps beside remote cache nodes; 0 turns the near cache off. */
  EMC_NEAR_CACHE_MB: z.coerce.number().min(0).max(65_536).default(64),
  EMC_NODE_ID: z.string().regex(/^[\w.:-]{1,64}$/, 'letters, digits, "." ":" "-" "_", at most 64').optional(),
  EMC_PROVIDER: z.enum(PROVIDER_KINDS).default('inprocess'),
  EMC_MIN_NODES: z.coerce.number().int().min(1).max(64).default(1),
  EMC_MAX_NODES: z.coerce.number().int().min(1).max(64).default(8),
  /** The web pool: none (the web role runs where it is started), cluster (local worker processes), ec2 (instances behind an ALB). */
  EMC_WEB_POOL: z.enum(WEB_POOL_KINDS).default('none'),
  EMC_MIN_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  EMC_MAX_WORKERS: z.coerce.number().int().min(1).max(64).default(8),
  /** How long a stopping worker may take to finish its in-flight requests before it is killed. */
  EMC_WORKER_DRAIN_S: z.coerce.number().positive().max(3600).default(30),
  /** The web pool's scaler decides on its workers' CPU averaged over this long: long enough to smooth a burst, short enough to follow a real rise. */
  EMC_WORKER_CPU_WINDOW_S: z.coerce.number().positive().max(3600).default(120),
  /** A web worker's pool id, given by its provider: a label on its log lines and the key of its statistics. */
  EMC_WORKER_ID: z.string().regex(/^[\w.:-]{1,64}$/, 'letters, digits, "." ":" "-" "_", at most 64').optional(),
  /** The EC2 instance a web worker runs on alone (its user-data writes it at first boot): EC2 measures the worker's CPU then. */
  EMC_INSTANCE_ID: z.string().regex(/^i-([0-9a-f]{8}|[0-9a-f]{17})$/, 'an EC2 instance id (i- and 8 or 17 hex digits)').optional(),
  /** The ALB target group the ec2 web pool registers its workers in. */
  EMC_ALB_TARGET_GROUP_ARN: z
    .string()
    .regex(/^arn:[\w-]+:elasticloadbalancing:[\w-]+:\d{12}:targetgroup\/[\w-]{1,32}\/[0-9a-f]+$/, 'must be a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)')
    .optional(),
  /** The launch template of the ec2 web pool's workers. */
  EMC_EC2_WEB_LAUNCH_TEMPLATE: z.string().min(1).optional(),
  EMC_SCALER_INTERVAL_S: z.coerce.number().positive().max(3600).default(60),
  /** The leader lease: a manager that stops renewing it is replaced this long after its last renewal. */
  EMC_POOL_LOCK_TTL_S: z.coerce.number().positive().max(3600).default(15),
  /** How long a resize or configuration call waits for the leader to apply it; well under a load balancer's 60 s. */
  EMC_RESIZE_WAIT_S: z.coerce.number().min(0).max(55).default(20),
  EMC_POOL_SYNC_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  EMC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: human-readable lines when standard output is a terminal, JSON lines otherwise. */
  EMC_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  EMC_ADMIN_TOKEN: optionalSecret,
  EMC_ADMIN_PASSWORD: optionalSecret.refine((v) => v === undefined || v.length >= 8, 'must be at least 8 characters'),
  EMC_SESSION_SECRET: optionalSecret.refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
  EMC_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  /** Bearer token every cache-node call must carry (nodes on a shared network); none: the cache API is open. */
  /** Every listener: the whole request must arrive within this (a 10 MB upload at ≥ 0.7 Mbit/s). */
  EMC_REQUEST_TIMEOUT_S: z.coerce.number().positive().max(3600).default(120),
  EMC_HEADERS_TIMEOUT_S: z.coerce.number().positive().max(600).default(20),
  /** A connection with no traffic either way is closed; above a load balancer's 60 s idle timeout. */
  EMC_IDLE_TIMEOUT_S: z.coerce.number().positive().max(3600).default(75),
  EMC_CACHE_TOKEN: optionalSecret.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters'),
});

/** Variables whose values are never repeated in a message, not even when they are invalid. */
const SECRET_VARIABLES = new Set(['EMC_ADMIN_TOKEN', 'EMC_ADMIN_PASSWORD', 'EMC_SESSION_SECRET', 'EMC_CACHE_TOKEN']);

/** How a variable's value appears in a configuration error: secrets hidden, a URL's password masked. */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return ' (not set)';
  if (SECRET_VARIABLES.has(name)) return ' (set; the value is not shown)';
  return `=${JSON.stringify(value.replace(/^([a-z][\w+.-]*:\/\/[^/@:]*:)[^/]*@/i, '$1***@'))}`;
}

export type DatabaseConfig = { provider: 'sqlite' | 'postgres'; url: string; poolSize: number };

export type Config = {
  role: Role;
  host: string;
  ports: { web: number; manager: number; cache: number };
  dataDir: string;
  database: DatabaseConfig;
  blobStore: {
    kind: 'fs' | 's3';
    /** The image folder of the `fs` store. */
    dir: string;
    s3: { bucket: string; prefix: string; endpoint: string | undefined } | undefined;
  };
  metrics: { kind: 'db' } | { kind: 'cloudwatch'; namespace: string };
  ec2: {
    /** The pool is the instances tagged emc:pool=<poolTag>. */
    poolTag: string;
    address: 'private' | 'public';
    /** When no stopped member is left, launch from this template (optional). */
    launchTemplate: string | undefined;
  };
  uploadLimitBytes: number;
  /** Every listener's timeouts (web, manager, cache). */
  http: ListenerTimeouts;
  cache: {
    routing: RouterKind;
    statsIntervalMs: number;
    /** How long the web tier waits for a cache node before serving from the image store. */
    timeoutMs: number;
    /**
     * The web tier's near cache in front of remote nodes: hot images kept in the web process,
     * revalidated with their owner node on every look-up. 0: off.
     */
    nearCacheBytes: number;
    /** A cache node's pool id, given by the process provider: a label on its log lines. */
    nodeId: string | undefined;
    /** EMC_CACHE_TOKEN: cache nodes require it as a bearer token, and the web tier sends it. */
    token: string | undefined;
  };
  pool: {
    provider: ProviderKind;
    minNodes: number;
    maxNodes: number;
    /** Seconds between scaler decisions, and the window each decision looks at. */
    scalerIntervalMs: number;
    /** The leader lease's time to live: a leader that dies is replaced within it (plus one interval). */
    leaseTtlMs: number;
    /** How long a resize or configuration call waits for the leader to apply it. */
    resizeWaitMs: number;
    /** How often a process follows pool membership, and the leader looks for desired-state changes. */
    syncIntervalMs: number;
    /** How often the leader checks every member's health, replacing dead ones, and retries a short growth. */
    reconcileIntervalMs: number;
  };
  webPool: WebPoolConfig;
  logLevel: z.infer<typeof EnvSchema>['EMC_LOG_LEVEL'];
  /** `pretty` for a person at a terminal, `json` for log collectors. */
  logFormat: 'pretty' | 'json';
  adminToken: string | undefined;
  /** Only for roles that serve the console (manager, all). */
  console: ConsoleConfig | undefined;
};

export type WebPoolConfig = {
  /** none: no web pool (each web process is started by hand or by the deployment). */
  kind: WebPoolKind;
  minWorkers: number;
  maxWorkers: number;
  /** How long a stopping worker may take to finish its in-flight requests before it is killed. */
  drainTimeoutMs: number;
  /** The scaler decides on the workers' CPU averaged over this long. */
  cpuWindowMs: number;
  /** Set in a worker of the web pool: its id in the pool. */
  workerId: string | undefined;
  /** Set in a worker on an EC2 instance of its own: the instance's id. */
  instanceId: string | undefined;
  /** ec2: the ALB target group workers are registered in, and their launch template. */
  targetGroupArn: string | undefined;
  launchTemplate: string | undefined;
};

export type ListenerTimeouts = { requestTimeoutMs: number; headersTimeoutMs: number; idleTimeoutMs: number };

export type ConsoleConfig = {
  /** scrypt hash of the admin password; the password itself is not kept. */
  passwordHash: string;
  /** Set only when no password was configured (role all on loopback): shown once at start. */
  generatedPassword: string | undefined;
  /** Signs session cookies; random per start unless configured (sessions then end on restart). */
  sessionSecret: string;
  /** Behind a TLS-terminating proxy: trust X-Forwarded-* (cookies then get `Secure`). */
  trustProxy: boolean;
};

const loopback = new Set(['127.0.0.1', 'localhost', '::1']);

export class ConfigError extends Error {}

/** What the process writes to; decides EMC_LOG_FORMAT=auto. */
export type Output = { stdoutIsTTY: boolean };

export function loadConfig(env: Record<string, string | undefined>, output: Output = { stdoutIsTTY: false }): Config {
  const parsed = EnvSchema.refine((e) => e.EMC_MIN_NODES <= e.EMC_MAX_NODES, {
    message: 'must not be above EMC_MAX_NODES',
    path: ['EMC_MIN_NODES'],
  })
    .refine((e) => e.EMC_BLOB_STORE !== 's3' || e.EMC_S3_BUCKET, {
      message: 'is required when EMC_BLOB_STORE=s3',
      path: ['EMC_S3_BUCKET'],
    })
    .refine((e) => e.EMC_HEADERS_TIMEOUT_S <= e.EMC_REQUEST_TIMEOUT_S, {
      message: 'must not be above EMC_REQUEST_TIMEOUT_S',
      path: ['EMC_HEADERS_TIMEOUT_S'],
    })
    .refine((e) => e.EMC_PROVIDER !== 'inprocess' || e.EMC_ROLE === 'all' || e.EMC_ROLE === 'cache', {
      // In-process shards live inside one process: web, manager and scaler must be that process.
      message: 'in-process shards need EMC_ROLE=all; split roles need EMC_PROVIDER=process',
      path: ['EMC_PROVIDER'],
    })
    .refine((e) => e.EMC_MIN_WORKERS <= e.EMC_MAX_WORKERS, {
      message: 'must not be above EMC_MAX_WORKERS',
      path: ['EMC_MIN_WORKERS'],
    })
    .refine((e) => e.EMC_WEB_POOL === 'none' || e.EMC_PROVIDER !== 'inprocess' || e.EMC_ROLE === 'cache', {
      // A worker is a process of its own; in-process shards would live in one worker and be out of reach of the others.
      message: 'web workers need cache nodes outside their process: use EMC_PROVIDER=process (or ec2) with a web pool',
      path: ['EMC_WEB_POOL'],
    })
    // Workers on instances of their own reach cache nodes over the VPC: `process` nodes listen on the manager's host only.
    .refine((e) => e.EMC_WEB_POOL !== 'ec2' || e.EMC_PROVIDER === 'ec2' || e.EMC_ROLE === 'cache', {
      message: 'web workers on EC2 need cache nodes on EC2: use EMC_PROVIDER=ec2 with EMC_WEB_POOL=ec2',
      path: ['EMC_WEB_POOL'],
    })
    .refine((e) => e.EMC_WEB_POOL !== 'ec2' || e.EMC_ALB_TARGET_GROUP_ARN, {
      message: 'is required when EMC_WEB_POOL=ec2: the ALB target group web workers take traffic through',
      path: ['EMC_ALB_TARGET_GROUP_ARN'],
    })
    .refine((e) => e.EMC_WEB_POOL !== 'ec2' || e.EMC_EC2_WEB_LAUNCH_TEMPLATE, {
      message: 'is required when EMC_WEB_POOL=ec2: the launch template web workers are launched from',
      path: ['EMC_EC2_WEB_LAUNCH_TEMPLATE'],
    })
    .safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      return `${name}${shownValue(name, env[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const needsConsole = e.EMC_ROLE === 'manager' || e.EMC_ROLE === 'all';
  if (needsConsole && !e.EMC_ADMIN_PASSWORD && !(e.EMC_ROLE === 'all' && loopback.has(e.EMC_HOST))) {
    throw new ConfigError(
      'invalid configuration:\n  EMC_ADMIN_PASSWORD (not set): required for the manager console (only role all on loopback may run without it)',
    );
  }
  const generatedPassword = needsConsole && !e.EMC_ADMIN_PASSWORD ? generatePassword() : undefined;
  const dataDir = resolve(e.EMC_DATA_DIR);
  const url = e.DATABASE_URL ?? `file:${resolve(dataDir, 'emc.db')}`;
  return {
    role: e.EMC_ROLE,
    host: e.EMC_HOST,
    ports: { web: e.EMC_WEB_PORT, manager: e.EMC_MANAGER_PORT, cache: e.EMC_CACHE_PORT },
    dataDir,
    database: { provider: url.startsWith('file:') ? 'sqlite' : 'postgres', url, poolSize: e.EMC_DB_POOL_SIZE },
    blobStore: {
      kind: e.EMC_BLOB_STORE,
      dir: resolve(dataDir, 'images'),
      s3: e.EMC_S3_BUCKET ? { bucket: e.EMC_S3_BUCKET, prefix: e.EMC_S3_PREFIX, endpoint: e.EMC_S3_ENDPOINT } : undefined,
    },
    metrics: e.EMC_METRICS === 'cloudwatch' ? { kind: 'cloudwatch', namespace: e.EMC_CW_NAMESPACE } : { kind: 'db' },
    ec2: { poolTag: e.EMC_EC2_POOL_TAG, address: e.EMC_EC2_ADDRESS, launchTemplate: e.EMC_EC2_LAUNCH_TEMPLATE },
    uploadLimitBytes: Math.round(e.EMC_UPLOAD_LIMIT_MB * 1024 * 1024),
    http: {
      requestTimeoutMs: e.EMC_REQUEST_TIMEOUT_S * 1000,
      headersTimeoutMs: e.EMC_HEADERS_TIMEOUT_S * 1000,
      idleTimeoutMs: e.EMC_IDLE_TIMEOUT_S * 1000,
    },
    cache: {
      routing: e.EMC_ROUTING,
      statsIntervalMs: e.EMC_STATS_INTERVAL_S * 1000,
      timeoutMs: e.EMC_CACHE_TIMEOUT_MS,
      nearCacheBytes: Math.round(e.EMC_NEAR_CACHE_MB * 1024 * 1024),
      nodeId: e.EMC_NODE_ID,
      token: e.EMC_CACHE_TOKEN,
    },
    pool: {
      provider: e.EMC_PROVIDER,
      minNodes: e.EMC_MIN_NODES,
      maxNodes: e.EMC_MAX_NODES,
      scalerIntervalMs: e.EMC_SCALER_INTERVAL_S * 1000,
      leaseTtlMs: e.EMC_POOL_LOCK_TTL_S * 1000,
      resizeWaitMs: e.EMC_RESIZE_WAIT_S * 1000,
      syncIntervalMs: e.EMC_POOL_SYNC_MS,
      reconcileIntervalMs: e.EMC_RECONCILE_S * 1000,
    },
    webPool: {
      kind: e.EMC_WEB_POOL,
      minWorkers: e.EMC_MIN_WORKERS,
      maxWorkers: e.EMC_MAX_WORKERS,
      drainTimeoutMs: e.EMC_WORKER_DRAIN_S * 1000,
      cpuWindowMs: e.EMC_WORKER_CPU_WINDOW_S * 1000,
      workerId: e.EMC_WORKER_ID,
      instanceId: e.EMC_INSTANCE_ID,
      targetGroupArn: e.EMC_ALB_TARGET_GROUP_ARN,
      launchTemplate: e.EMC_EC2_WEB_LAUNCH_TEMPLATE,
    },
    logLevel: e.EMC_LOG_LEVEL,
    logFormat: e.EMC_LOG_FORMAT === 'auto' ? (output.stdoutIsTTY ? 'pretty' : 'json') : e.EMC_LOG_FORMAT,
    adminToken: e.EMC_ADMIN_TOKEN,
    console: needsConsole
      ? {
          passwordHash: e.EMC_ADMIN_PASSWORD ? hashPassword(e.EMC_ADMIN_PASSWORD) : hashPassword(generatedPassword!, GENERATED_PASSWORD_COST),
          generatedPassword,
          sessionSecret: e.EMC_SESSION_SECRET ?? randomBytes(32).toString('hex'),
          trustProxy: e.EMC_TRUST_PROXY === 'true',
        }
      : undefined,
  };
}
