import type { Db } from '../db/database.js';
import { assertValidCacheConfig, type CacheConfig, type CachePolicy } from './cache-types.js';

const toConfig = (row: { capacityMb: number; policy: string }): CacheConfig => {
  const config = { capacityMb: row.capacityMb, policy: row.policy as CachePolicy };
  assertValidCacheConfig(config);
  return config;
};

/**
 * Every node runs the one configuration stored in the database (row 1). Reading
 * first keeps nodes that start together from all writing (SQLite serialises
 * writers); the row is created with the model's defaults on first use.
 */
export async function loadSharedCacheConfig(db: Db): Promise<CacheConfig> {
  const row = await db.cacheConfig.findUnique({ where: { id: 1 } });
  if (row) return toConfig(row);
  try {
    return toConfig(await db.cacheConfig.upsert({ where: { id: 1 }, create: { id: 1 }, update: {} }));
  } catch (err) {
    const created = await db.cacheConfig.findUnique({ where: { id: 1 } });
    if (created) return toConfig(created); // another process created it meanwhile
    throw err;
  }
}

export async function saveSharedCacheConfig(db: Db, config: CacheConfig): Promise<void> {
  assertValidCacheConfig(config);
  await db.cacheConfig.upsert({ where: { id: 1 }, create: { id: 1, ...config }, update: config });
}
