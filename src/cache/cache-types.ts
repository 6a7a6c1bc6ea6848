export const CACHE_POLICIES = ['LRU', 'RR'] as const;
/** `LRU` evicts the least recently used entry; `RR` (random replacement) a uniformly random one. */
export type CachePolicy = (typeof CACHE_POLICIES)[number];

export const MIN_CAPACITY_MB = 1;
export const MAX_CAPACITY_MB = 4096;
const BYTES_PER_MB = 1024 * 1024;

/** What a node runs until the pool's manager sends it the shared configuration (the model's defaults). */
export const DEFAULT_CACHE_CONFIG: Readonly<CacheConfig> = Object.freeze({ capacityMb: 64, policy: 'LRU' });

/** A cached image: its bytes plus what the hot path needs to answer without the database. */
export interface CacheValue {
  bytes: Buffer;
  contentType: string;
  /** The stored object's ETag; it changes on every upload, so it identifies the version. */
  etag: string;
}

export interface CacheEntry {
  key: string;
  value: CacheValue;
}

export interface CacheConfig {
  capacityMb: number;
  policy: CachePolicy;
}

/**
 * What an entry costs against the capacity: its key plus its bytes (SPEC §3).
 * The content type is deliberately left out so that the size an operator sees
 * is the size of the images themselves.
 */
export function entrySize(key: string, value: CacheValue): number {
  return Buffer.byteLength(key) + value.bytes.byteLength;
}

export function capacityBytesOf(capacityMb: number): number {
  return capacityMb * BYTES_PER_MB;
}

/** Throws a RangeError naming the bad field; configs arrive from forms and JSON, so check at runtime. */
export function assertValidCacheConfig(config: CacheConfig): void {
  const { capacityMb, policy } = config;
  if (!Number.isInteger(capacityMb) || capacityMb < MIN_CAPACITY_MB || capacityMb > MAX_CAPACITY_MB) {
    throw new RangeError(
      `cache capacityMb must be an integer from ${MIN_CAPACITY_MB} to ${MAX_CAPACITY_MB}, got ${String(capacityMb)}`,
    );
  }
  if (!CACHE_POLICIES.includes(policy)) {
    throw new RangeError(`cache policy must be one of ${CACHE_POLICIES.join(', ')}, got ${String(policy)}`);
  }
}
