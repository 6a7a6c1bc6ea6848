/** A router needs at least one owner, and duplicates would silently double a node's share. */
export function assertValidNodeIds(nodeIds: readonly string[]): void {
  if (nodeIds.length === 0) throw new RangeError('a router needs at least one node');
  if (new Set(nodeIds).size !== nodeIds.length) {
    throw new RangeError(`router node ids must be unique, got ${nodeIds.join(', ')}`);
  }
}
