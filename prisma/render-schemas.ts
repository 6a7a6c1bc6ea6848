// Renders the one hand-edited model into a schema per provider. The datasource
// URL is a dummy: the driver adapter supplies the real connection at run time.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const providers = ['sqlite', 'postgres'] as const;
export type Provider = (typeof providers)[number];

const here = dirname(fileURLToPath(import.meta.url));

export function renderSchema(provider: Provider, model: string): string {
  const datasourceProvider = provider === 'sqlite' ? 'sqlite' : 'postgresql';
  const dummyUrl = provider === 'sqlite' ? 'file:./unused.db' : 'postgresql://unused@localhost/unused';
  return `// GENERATED from prisma/model.prisma by prisma/render-schemas.ts; do not edit.
generator client {
  provider   = "prisma-client-js"
  engineType = "client"
  output     = "../../src/db/generated/${provider}"
}

datasource db {
  provider = "${datasourceProvider}"
  url      = "${dummyUrl}"
}

${model}`;
}

export function schemaPath(provider: Provider): string {
  return join(here, provider, 'schema.prisma');
}

export function renderAll(): void {
  const model = readFileSync(join(here, 'model.prisma'), 'utf8');
  for (const provider of providers) {
    mkdirSync(dirname(schemaPath(provider)), { recursive: true });
    writeFileSync(schemaPath(provider), renderSchema(provider, model));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) renderAll();
