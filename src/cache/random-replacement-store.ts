import { entrySize, type CacheEntry, type CacheValue } from './cache-types.js';
import type { EntryStore, EntryStoreOptions } from './entry-store.js';

export interface RandomReplacementStoreOptions extends EntryStoreOptions {
  /** Uniform in [0, 1); injected so tests can be deterministic. */
  random?: () => number;
}

interface Slot {
  value: CacheValue;
  size: number;
  /** Position in `keys`, kept in step by swap-remove. */
  index: number;
}

/**
 * Random replacement: when room is needed, a uniformly random resident entry goes.
 * `keys` is a dense array so the pick is O(1); removal swaps the last key into the gap.
 * `slots` (a Map, so insertion-ordered) additionally tracks use order. Eviction ignores
 * it; it exists so that switching back to LRU, or migrating, keeps a meaningful order.
 */
export function createRandomReplacementStore(options: RandomReplacementStoreOptions): EntryStore {
  const { capacityBytes, onEvict, random = Math.random } = options;
  const slots = new Map<string, Slot>();
  const keys: string[] = [];
  let bytes = 0;

  function remove(key: string): boolean {
    const slot = slots.get(key);
    if (!slot) return false;
    slots.delete(key);
    const last = keys.pop() as string;
    if (last !== key) {
      keys[slot.index] = last;
      (slots.get(last) as Slot).index = slot.index;
    }
    bytes -= slot.size;
    return true;
  }

  function evictOne(): void {
    // min() guards against a random source that returns exactly 1.
    const index = Math.min(keys.length - 1, Math.floor(random() * keys.length));
    remove(keys[index] as string);
    onEvict();
  }

  return {
    get items() {
      return slots.size;
    },
    get bytes() {
      return bytes;
    },
    get(key) {
      const slot = slots.get(key);
      if (!slot) return undefined;
      slots.delete(key);
      slots.set(key, slot);
      return slot.value;
    },
    peek: (key) => slots.get(key)?.value,
    has: (key) => slots.has(key),
    set(key, value) {
      const size = entrySize(key, value);
      remove(key);
      while (bytes + size > capacityBytes && keys.length > 0) evictOne();
      slots.set(key, { value, size, index: keys.length });
      keys.push(key);
      bytes += size;
    },
    delete: remove,
    clear() {
      slots.clear();
      keys.length = 0;
      bytes = 0;
    },
    *entries(): IterableIterator<CacheEntry> {
      for (const [key, slot] of slots) yield { key, value: slot.value };
    },
  };
}
