import type { Db } from '../db/database.js';
import { assertValidCacheConfig, type CacheConfig, type CachePolicy } from './cache-types.js';

/** Every node runs the one configuration stored in the database (row 1); it is created on first use. */
export async function loadSharedCacheConfig(db: Db): Promise<CacheConfig> {
  const row = await db.cacheConfig.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} });
  const config = { capacityMb: row.capacityMb, policy: row.policy as CachePolicy };
  assertValidCacheConfig(config);
  return config;
}

export async function saveSharedCacheConfig(db: Db, config: CacheConfig): Promise<void> {
  assertValidCacheConfig(config);
  await db.cacheConfig.upsert({ where: { id: 1 }, create: { id: 1, ...config }, update: config });
}
