import { Mutex } from 'async-mutex';
import type { Db } from '../db/database.js';
import type { CacheNode } from '../pool/cache-node.js';
import type { CachePool } from '../pool/cache-pool.js';
import type { ProvidedNode } from './node-provider.js';
import { readMembers, readVersion } from './pool-membership.js';

type Deps = {
  db: Db;
  pool: CachePool;
  /** A client for a recorded node; whoever gets one closes it (see `withClient`). */
  connect: (member: ProvidedNode) => CacheNode;
};

/**
 * This process's view of the recorded membership and its clients to the members. The pool
 * owns (and closes) the clients it routes to; a client made for one call to a node the pool
 * does not route to is closed right after it (`withClient`). Following the database and the
 * leader's transitions take turns (`exclusive`), so a follow never undoes a transition.
 */
export function createPoolMembers({ db, pool, connect }: Deps) {
  let syncedVersion = -1;
  const turns = new Mutex();
  // A member is the node we already route to only if it is the same instance at the same
  // address: a dead node replaced under its id is a new node, and a client of the old one
  // would keep calling the dead address.
  const identity = (m: ProvidedNode) => JSON.stringify([m.id, m.instanceId, m.address]);
  const identities = new WeakMap<CacheNode, string>();

  function clientFor(member: ProvidedNode): CacheNode {
    const wanted = identity(member);
    const routed = pool.nodes().find((n) => identities.get(n) === wanted);
    if (routed) return routed;
    const node = connect(member);
    identities.set(node, wanted);
    return node;
  }

  async function follow(): Promise<void> {
    const version = await readVersion(db, 'cache');
    if (version === syncedVersion) return;
    const members = await readMembers(db, 'cache');
    const current = pool.nodes().map((n) => identities.get(n) ?? n.id).join();
    if (members.map(identity).join() !== current) await pool.follow(members.map(clientFor));
    syncedVersion = version;
  }

  return {
    clientFor,
    /** Makes the pool route to the database's members (the leader may have changed them). */
    sync: () => turns.runExclusive(follow),
    /** Runs a leader's transition without a follow in between; `follow` afterwards sees its commit. */
    exclusive: <T>(work: () => Promise<T>) => turns.runExclusive(work),
    /** Routes to the recorded members again, whatever version this process thought it had. */
    async refollow(): Promise<void> {
      syncedVersion = -1;
      await follow();
    },
    /** Calls a member through the pool's client, or a temporary one that is closed afterwards. */
    async withClient<T>(member: ProvidedNode, call: (node: CacheNode) => Promise<T>): Promise<T> {
      const node = clientFor(member);
      try {
        return await call(node);
      } finally {
        if (!pool.nodes().includes(node)) await node.close();
      }
    },
  };
}

export type PoolMembers = ReturnType<typeof createPoolMembers>;
