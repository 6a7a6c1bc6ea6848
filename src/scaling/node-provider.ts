import type { CacheNode } from '../pool/cache-node.js';

/** A node a provider runs for the pool, as recorded in the PoolNode table. */
export type ProvidedNode = {
  id: string;
  /** The provider's own handle: a pid, an EC2 instance id; null in process. */
  instanceId: string | null;
  /** How the web tier reaches it: `inprocess` or an http:// origin. */
  address: string;
};

export const PROVIDER_KINDS = ['inprocess', 'process', 'ec2'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/**
 * Starts and stops cache nodes. The pool controller is its only caller, under the
 * pool lock. Implementations: in-process shards, local child processes, and later
 * EC2 instances; all fit this interface unchanged.
 */
export interface NodeProvider {
  readonly kind: ProviderKind;
  /** The nodes this provider is running right now (for reconciling with the database). */
  list(): Promise<ProvidedNode[]>;
  /** Starts one node and resolves once its health check answers. */
  start(id: string): Promise<ProvidedNode>;
  /** Stops a node; stopping one that is not running is not an error. */
  stop(id: string): Promise<void>;
  /** A client for a node recorded in the database (by this process or another). */
  connect(node: ProvidedNode): CacheNode;
  /** Stops what this process started (children must not outlive it) and releases clients. */
  close(): Promise<void>;
}
