/** The two pools the leader manager sizes: cache nodes (`node-N`) and web workers (`worker-N`). */
export const POOL_NAMES = ['cache', 'web'] as const;
export type PoolName = (typeof POOL_NAMES)[number];

/** A pool's size limits; every desired size is kept within them. */
export type PoolBounds = { min: number; max: number };

/** Each pool's PoolState row. The one leader lease, for both pools, lives in the cache pool's row. */
export const STATE_ROW: Readonly<Record<PoolName, number>> = { cache: 1, web: 2 };
export const LEASE_ROW = STATE_ROW.cache;

const MEMBER_WORD: Readonly<Record<PoolName, string>> = { cache: 'node', web: 'worker' };

/** "1 node", "3 workers". */
export const countOf = (pool: PoolName, n: number) => `${n} ${MEMBER_WORD[pool]}${n === 1 ? '' : 's'}`;

/** What the pool calls one member ("node", "worker"); also its ids' prefix. */
export const memberWord = (pool: PoolName) => MEMBER_WORD[pool];

/** How messages name the pool. */
export const poolTitle = (pool: PoolName) => (pool === 'cache' ? 'the pool' : 'the web pool');
