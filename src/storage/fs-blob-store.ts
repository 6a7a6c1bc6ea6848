import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertObjectName, type BlobStore } from './blob-store.js';

/** Images as files under one folder, fanned out by the name's first two characters. */
export function createFsBlobStore(dir: string): BlobStore {
  const pathOf = (name: string) => {
    assertObjectName(name);
    return join(dir, name.slice(0, 2), name);
  };
  return {
    async put(name, bytes) {
      const path = pathOf(name);
      await mkdir(join(dir, name.slice(0, 2)), { recursive: true });
      // Write then rename, so a reader never sees half a file.
      const tmp = join(dir, `.tmp-${randomUUID()}`);
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    },
    async get(name) {
      try {
        return await readFile(pathOf(name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async delete(name) {
      await unlink(pathOf(name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
    async deleteAll() {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
      const count = entries.filter((e) => e.isFile() && !e.name.startsWith('.tmp-')).length;
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return count;
    },
    async close() {},
  };
}
