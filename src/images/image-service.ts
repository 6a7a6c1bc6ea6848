import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { Semaphore } from 'async-mutex';
import type { CachePool } from '../pool/cache-pool.js';
import type { Db } from '../db/database.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { CacheValue } from '../cache/cache-types.js';
import { AppError } from '../http/app-error.js';
import { databaseUnavailable } from '../http/unavailable.js';
import { detectImageType } from './image-type.js';
import { isStorableKey, validateKey } from './image-key.js';
import { createKeyCount } from './key-count.js';
import { createSingleFlight } from './single-flight.js';

/** databaseUnavailable's reasons for a connection that was ended under a query (not one that could not be made). */
const ENDED_CONNECTION = /57P01|P1017|ConnectionClosed|Connection terminated unexpectedly|ECONNRESET/;

export type StoredImage = CacheValue;
export type UploadResult = { key: string; contentType: string; size: number; replaced: boolean };
export type DeleteAllResult = { images: number; objects: number };

export interface ImageService {
  /** Stores the image atomically: object first, then the row, then the replaced object goes. */
  upload(key: unknown, bytes: Buffer | undefined): Promise<UploadResult>;
  /** The read path: the owner cache node first, then the database and the image store (filling the cache). */
  get(key: string): Promise<StoredImage | null>;
  /** Up to `limit` keys after `after`, in key order: one page, or one batch of a streamed list. */
  keysPage(page: { after?: string | undefined; limit: number }): Promise<string[]>;
  /** How many images are stored (a count query, reused for a moment; no key is read). */
  countKeys(): Promise<number>;
  deleteAll(): Promise<DeleteAllResult>;
}

type Deps = {
  db: Db;
  blobs: BlobStore;
  cache: Pick<CachePool, 'get' | 'nearCopy' | 'put' | 'invalidate' | 'clear'>;
  log: FastifyBaseLogger;
};
type Row = { objectName: string; contentType: string; size: number };

// Uploads share the semaphore; delete-all takes all of it, so it never runs
// between an upload's object write and its row commit (which would orphan a row).
// async-mutex walks every permit on release, so the count stays small: it bounds
// concurrent uploads, not correctness.
const ALL = 1024;

export function createImageService({ db, blobs, cache, log }: Deps): ImageService {
  const gate = new Semaphore(ALL);
  const singleFlight = createSingleFlight<StoredImage | null>();
  // Loads in flight, flagged when their key is invalidated meanwhile: such a
  // load may hold the replaced image and must not put it into the cache.
  const loading = new Map<string, { stale: boolean }>();
  const keyCount = createKeyCount(() => db.image.count());

  /**
   * Compare-and-swap on the row, so concurrent replacements each delete exactly
   * what they replaced. A failed attempt means another upload won, so the loop
   * always makes progress; the bound only guards against a broken database.
   */
  async function commitRow(key: string, row: Row): Promise<string | null> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const current = await db.image.findUnique({ where: { key }, select: { objectName: true } });
      if (!current) {
        try {
          await db.image.create({ data: { key, ...row } });
          return null;
        } catch (err) {
          if ((err as { code?: string }).code === 'P2002') continue;
          throw err;
        }
      }
      const { count } = await db.image.updateMany({ where: { key, objectName: current.objectName }, data: row });
      if (count === 1) return current.objectName;
    }
    throw new AppError(409, 'the key was being replaced by other uploads at the same time; try again');
  }

  async function upload(rawKey: unknown, bytes: Buffer | undefined): Promise<UploadResult> {
    const key = validateKey(rawKey);
    if (bytes === undefined) throw new AppError(400, 'file is required (multipart field "file")');
    const contentType = await detectImageType(bytes);
    const objectName = randomUUID();
    const replaced = await gate.runExclusive(async () => {
      await blobs.put(objectName, bytes);
      try {
        return await commitRow(key, { objectName, contentType, size: bytes.length });
      } catch (err) {
        await blobs.delete(objectName).catch((e) => log.error({ err: e, objectName }, 'could not remove the object of a failed upload'));
        throw err;
      }
    }, 1);
    if (!replaced) keyCount.invalidate();
    if (replaced) {
      await invalidate(key);
      await blobs.delete(replaced).catch((err) => log.warn({ err, objectName: replaced }, 'replaced object not deleted'));
    }
    return { key, contentType, size: bytes.length, replaced: replaced !== null };
  }

  async function invalidate(key: string): Promise<void> {
    const flight = loading.get(key);
    if (flight) flight.stale = true;
    await cache.invalidate(key);
  }

  async function get(key: string): Promise<StoredImage | null> {
    // Such a key was never stored; PostgreSQL would even refuse a NUL in the query (a 500, not a miss).
    if (!isStorableKey(key)) return null;
    const hit = await cache.get(key);
    if (hit) return hit;
    return singleFlight(key, async () => {
      const flight = { stale: false };
      loading.set(key, flight);
      try {
        const image = await load(key);
        if (image && !flight.stale) await cache.put(key, image);
        return image;
      } finally {
        loading.delete(key);
      }
    });
  }

  /**
   * A read whose connection the server ended under it (pg_terminate_backend, an RDS
   * failover) is tried once more: the pool has dropped that connection and the read is
   * idempotent. An unreachable database still fails at once (no second connect wait).
   */
  async function findRow(key: string) {
    try {
      return await db.image.findUnique({ where: { key } });
    } catch (err) {
      const reason = databaseUnavailable(err)?.reason;
      if (!reason || !ENDED_CONNECTION.test(reason)) throw err;
      log.warn({ key, reason }, 'image read lost its database connection; reading again');
      return db.image.findUnique({ where: { key } });
    }
  }

  async function load(key: string): Promise<StoredImage | null> {
    // A concurrent replace may delete the object between our row read and blob
    // read; the row then already names the new object, so read once more.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await findRow(key);
      if (!row) return null;
      const etag = `"${row.objectName}"`;
      // The node lost the entry (evicted, restarted, a new owner) but this process still
      // holds the version the row names: the cache is refilled without reading the store.
      const copy = cache.nearCopy(key);
      if (copy?.etag === etag) return copy;
      const bytes = await blobs.get(row.objectName);
      if (bytes) return { bytes, contentType: row.contentType, etag };
    }
    log.error({ key }, 'image row points at a missing object');
    return null;
  }

  async function keysPage({ after, limit }: { after?: string | undefined; limit: number }): Promise<string[]> {
    // The primary key's index serves both the range and the order: a page costs the same at any depth.
    const rows = await db.image.findMany({
      select: { key: true },
      where: after === undefined ? {} : { key: { gt: after } },
      orderBy: { key: 'asc' },
      take: limit,
    });
    return rows.map((r) => r.key);
  }

  async function deleteAll(): Promise<DeleteAllResult> {
    return gate.runExclusive(async () => {
      const { count } = await db.image.deleteMany();
      keyCount.invalidate();
      const objects = await blobs.deleteAll();
      await cache.clear();
      return { images: count, objects };
    }, ALL);
  }

  return { upload, get, keysPage, countKeys: keyCount.get, deleteAll };
}
