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
 * Starts and stops cache nodes. Only the leader manager holds one (pool-leader.ts).
 * Implementations: in-process shards, local child processes, EC2 instances.
 */
export interface NodeProvider {
  readonly kind: ProviderKind;
  /** The nodes this provider is running right now (for reconciling with the database). */
  list(): Promise<ProvidedNode[]>;
  /** Starts one node and resolves once its health check answers. */
  start(id: string): Promise<ProvidedNode>;
  /** Stops a node; stopping one that is not running is not an error. */
  stop(id: string): Promise<void>;
  /** A client for a node recorded in the database (by this process or another); the caller closes it. */
  connect(node: ProvidedNode): CacheNode;
  /** A new leader takes over the recorded nodes a previous leader started (where the provider cannot see them by itself). */
  adopt?(members: readonly ProvidedNode[]): Promise<void>;
  /** Stops the nodes this process started, unless they are meant to outlive it (then it lets go of them). */
  close(): Promise<void>;
}
