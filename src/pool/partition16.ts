import { hash } from 'node:crypto';
import { assertValidNodeIds } from './node-ids.js';
import type { Router } from './router.js';

export const PARTITION_COUNT = 16;

/** The course's partition: the first hex digit of md5(key), 0..15. */
export function partitionOf(key: string): number {
  const firstByte = hash('md5', key, 'buffer')[0] as number;
  return firstByte >> 4;
}

/**
 * The course's routing scheme, kept for compatibility: partition p lives on
 * nodes[p mod N]. Node order matters here, unlike on the ring; and most keys move
 * whenever N changes.
 */
export function createPartition16(nodeIds: readonly string[]): Router {
  assertValidNodeIds(nodeIds);
  const nodes = Object.freeze([...nodeIds]);
  return {
    nodes,
    lookup: (key) => nodes[partitionOf(key) % nodes.length] as string,
  };
}
