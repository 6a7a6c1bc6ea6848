// Writes a new migration for each provider: the SQL that takes the schema from
// the previous migration's snapshot to the current model, plus the new snapshot.
// `prisma migrate dev` is never used: with the PostgreSQL adapter its shadow
// database would be the real one.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { providers, renderAll, schemaPath } from './render-schemas.js';

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:migration -- <name in snake_case>');
  process.exit(2);
}

renderAll();
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
for (const provider of providers) {
  const dir = join(here, provider, 'migrations');
  mkdirSync(dir, { recursive: true });
  const previous = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'schema.prisma'))).sort().at(-1);
  const from = previous ? ['--from-schema-datamodel', join(dir, previous, 'schema.prisma')] : ['--from-empty'];
  const sql = execFileSync(
    'npx',
    ['prisma', 'migrate', 'diff', ...from, '--to-schema-datamodel', schemaPath(provider), '--script'],
    { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } },
  )
    // RDS roles usually lack CREATE on the database; the public schema exists anyway.
    .replace(/^CREATE SCHEMA IF NOT EXISTS "public";\n*/m, '');
  if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
    console.log(`${provider}: no change`);
    continue;
  }
  const target = join(dir, `${stamp}_${name}`);
  mkdirSync(target);
  writeFileSync(join(target, 'migration.sql'), sql);
  copyFileSync(schemaPath(provider), join(target, 'schema.prisma'));
  console.log(`${provider}: wrote ${target}`);
}
