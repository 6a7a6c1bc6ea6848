import type { CacheEntry, CacheValue } from './cache-types.js';

/**
 * The policy-specific part of a cache node: holds entries within `capacityBytes`,
 * evicting by its policy when a `set` needs room. Callers never `set` an entry larger
 * than the capacity. Deletes, clears and overwrites are not evictions.
 */
export interface EntryStore {
  readonly items: number;
  readonly bytes: number;
  /** Reads and marks the entry as used. */
  get(key: string): CacheValue | undefined;
  /** Reads without marking the entry as used. */
  peek(key: string): CacheValue | undefined;
  has(key: string): boolean;
  set(key: string, value: CacheValue): void;
  delete(key: string): boolean;
  clear(): void;
  /** Least recently used first; does not mark anything as used. */
  entries(): IterableIterator<CacheEntry>;
}

export interface EntryStoreOptions {
  capacityBytes: number;
  onEvict: () => void;
}
