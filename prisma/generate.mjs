// `npm run db:generate`: renders the provider schemas from prisma/model.prisma and generates
// both Prisma clients into src/db/generated — only when what they are made from (the model, the
// renderer, the Prisma version) changed since the last generation, recorded in a hash stamp
// beside the generated code. `npm start` and `npm test` run it first, so an unchanged model costs
// them a hash, not ~3 s of `prisma generate` and its banners. `--force` generates anyway.
// Plain JavaScript on purpose: it runs before every start, and tsx would add half a second.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const generated = join(root, 'src', 'db', 'generated');
const stampFile = join(generated, '.inputs-hash');
const providers = ['sqlite', 'postgres'];
const require = createRequire(import.meta.url);

function inputsHash() {
  const hash = createHash('sha256');
  for (const file of ['prisma/model.prisma', 'prisma/render-schemas.ts']) hash.update(readFileSync(join(root, file)));
  for (const pkg of ['prisma', '@prisma/client']) hash.update(`${pkg}@${require(`${pkg}/package.json`).version}`);
  return hash.digest('hex');
}

const upToDate = (hash) =>
  existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash && providers.every((p) => existsSync(join(generated, p, 'index.js')));

/** Runs a node script; its output is shown only when it fails (Prisma's banners are not news). */
function run(label, args) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  if (result.status === 0) return;
  process.stderr.write(`${result.stdout}${result.stderr}db:generate: ${label} failed\n`);
  process.exit(1);
}

const hash = inputsHash();
if (process.argv.includes('--force') || !upToDate(hash)) {
  run('rendering the schemas', [require.resolve('tsx/cli'), 'prisma/render-schemas.ts']);
  for (const provider of providers) {
    run(`prisma generate (${provider})`, [require.resolve('prisma/build/index.js'), 'generate', '--schema', `prisma/${provider}/schema.prisma`, '--no-hints']);
  }
  writeFileSync(stampFile, `${hash}\n`);
  console.error(`db:generate: Prisma clients generated (${providers.join(', ')}) into src/db/generated`);
}
