import { createHashRing } from './hash-ring.js';
import { createPartition16 } from './partition16.js';

export const ROUTER_KINDS = ['ring', 'partition16'] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

/** Maps a key to the id of the node that owns it. Immutable: a pool change builds a new one. */
export interface Router {
  lookup(key: string): string;
  readonly nodes: readonly string[];
}

/** Throws if `nodeIds` is empty or has duplicates: there is no owner to answer with. */
export function createRouter(kind: RouterKind, nodeIds: readonly string[]): Router {
  switch (kind) {
    case 'ring':
      return createHashRing(nodeIds);
    case 'partition16':
      return createPartition16(nodeIds);
    default:
      throw new RangeError(`router kind must be one of ${ROUTER_KINDS.join(', ')}, got ${String(kind)}`);
  }
}
