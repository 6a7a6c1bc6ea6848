import { entrySize, type CacheEntry, type CachePolicy } from './cache-types.js';

export interface ShrinkResult {
  kept: CacheEntry[];
  evicted: number;
}

/**
 * Chooses which entries survive a shrink to `capacityBytes`, as `policy` would evict:
 * LRU drops from the least recent end, RR drops uniformly random entries. Only as many
 * go as needed, and the survivors keep their order.
 */
export function shrinkToFit(
  entries: readonly CacheEntry[],
  capacityBytes: number,
  policy: CachePolicy,
  random: () => number,
): ShrinkResult {
  let bytes = entries.reduce((sum, { key, value }) => sum + entrySize(key, value), 0);
  if (bytes <= capacityBytes) return { kept: [...entries], evicted: 0 };
  const victims = new Set<number>();
  const candidates = entries.map((_, index) => index);
  let oldest = 0;
  while (bytes > capacityBytes) {
    let victim: number;
    if (policy === 'LRU') {
      victim = oldest++;
    } else {
      const pick = Math.min(candidates.length - 1, Math.floor(random() * candidates.length));
      victim = candidates[pick] as number;
      candidates[pick] = candidates[candidates.length - 1] as number;
      candidates.pop();
    }
    victims.add(victim);
    const { key, value } = entries[victim] as CacheEntry;
    bytes -= entrySize(key, value);
  }
  return { kept: entries.filter((_, index) => !victims.has(index)), evicted: victims.size };
}
