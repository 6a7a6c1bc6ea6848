import { hash as digestOf } from 'node:crypto';
import { assertValidNodeIds } from './node-ids.js';
import type { Router } from './router.js';

export interface HashRingOptions {
  /** Points per node on the ring. */
  replicas?: number;
  /**
   * Maps a string to an unsigned 32-bit ring position. When given, node point i is
   * hash(`${node}-${i}`) and a key sits at hash(key). The default is ketama-style MD5:
   * each digest of `${node}-${j}` yields four little-endian 32-bit points, and a key sits
   * at the first word of md5(key).
   */
  hash?: (data: string) => number;
}

export const DEFAULT_REPLICAS = 160;

// One-shot: half the cost of createHash().update().digest(), and this runs on every look-up.
function md5(data: string): Buffer {
  return digestOf('md5', data, 'buffer');
}

function md5Points(node: string, replicas: number): number[] {
  const points: number[] = [];
  for (let j = 0; points.length < replicas; j++) {
    const digest = md5(`${node}-${j}`);
    for (let word = 0; word < 4 && points.length < replicas; word++) {
      points.push(digest.readUInt32LE(word * 4));
    }
  }
  return points;
}

/**
 * An immutable consistent-hash ring: sorted once, looked up by binary search with
 * wrap-around. Points that collide are ordered by node id, so the owner never depends
 * on the order the nodes were given in. Throws on an empty or duplicated node list.
 */
export function createHashRing(nodeIds: readonly string[], options: HashRingOptions = {}): Router {
  const { replicas = DEFAULT_REPLICAS, hash } = options;
  assertValidNodeIds(nodeIds);
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new RangeError(`hash ring replicas must be a positive integer, got ${String(replicas)}`);
  }
  const nodes = Object.freeze([...nodeIds]);
  const keyPosition = hash ?? ((key: string) => md5(key).readUInt32LE(0));
  const nodePoints = hash
    ? (node: string) => Array.from({ length: replicas }, (_, i) => hash(`${node}-${i}`) >>> 0)
    : (node: string) => md5Points(node, replicas);

  const points = nodes.flatMap((node) => nodePoints(node).map((position) => ({ position, node })));
  points.sort((a, b) => a.position - b.position || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const positions = Uint32Array.from(points, (p) => p.position);
  const owners = points.map((p) => p.node);

  function lookup(key: string): string {
    const position = keyPosition(key) >>> 0;
    let low = 0;
    let high = positions.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((positions[mid] as number) < position) low = mid + 1;
      else high = mid;
    }
    return owners[low === positions.length ? 0 : low] as string;
  }

  // One node needs no ring (and no hashing).
  const only = nodes.length === 1 ? (nodes[0] as string) : undefined;
  return { nodes, lookup: only === undefined ? lookup : () => only };
}
