/** A member a provider runs for a pool, as recorded in the PoolNode table. */
export type ProvidedMember = {
  id: string;
  /** The provider's own handle: a pid, an EC2 instance id; null for an in-process shard. */
  instanceId: string | null;
  /** Where it serves: an http:// origin (`inprocess` for a shard). */
  address: string;
};

/**
 * Starts and stops the members of one pool (cache nodes, web workers). Only the leader
 * manager holds providers (pool-leader.ts); a process that never leads opens none.
 */
export interface MemberProvider {
  readonly kind: string;
  /** The members this provider is running right now (for reconciling with the database). */
  list(): Promise<ProvidedMember[]>;
  /** Starts one member and resolves once it serves (a worker: once it takes traffic). */
  start(id: string): Promise<ProvidedMember>;
  /** Stops a member (a worker is drained first); stopping one that is not running is not an error. */
  stop(id: string): Promise<void>;
  /**
   * Whether a member answers, where `<address>/health` cannot tell (cluster workers share one
   * port, so a GET there reaches any of them). Without it the leader GETs `<address>/health`.
   */
  health?(member: ProvidedMember): Promise<boolean>;
  /** A new leader takes over the recorded members a previous leader started (where the provider cannot see them by itself). */
  adopt?(members: readonly ProvidedMember[]): Promise<void>;
  /** The members just joined are recorded in the database: from now on the next leader can find (adopt or stop) them. */
  recorded?(members: readonly ProvidedMember[]): Promise<void>;
  /** Stops the members this process started, unless they are meant to outlive it (then it lets go of them). */
  close(): Promise<void>;
}
