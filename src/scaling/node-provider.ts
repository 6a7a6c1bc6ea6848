import type { CacheNode } from '../pool/cache-node.js';
import type { MemberProvider, ProvidedMember } from './member-provider.js';

/** A cache node a provider runs for the cache pool; the web tier reaches it at `address` (`inprocess` for a shard). */
export type ProvidedNode = ProvidedMember;

export const PROVIDER_KINDS = ['inprocess', 'process', 'ec2'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/**
 * Starts and stops cache nodes: the cache pool's members, plus a client to each.
 * Implementations: in-process shards, local child processes, EC2 instances.
 */
export interface NodeProvider extends MemberProvider {
  readonly kind: ProviderKind;
  /** A client for a node recorded in the database (by this process or another); the caller closes it. */
  connect(node: ProvidedNode): CacheNode;
}
