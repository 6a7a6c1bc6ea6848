import { CACHE_POLICIES, MAX_CAPACITY_MB, MIN_CAPACITY_MB, type CacheConfig, type CachePolicy } from '../cache/cache-types.js';
import { loadSharedCacheConfig } from '../cache/shared-cache-config.js';
import type { Db } from '../db/database.js';
import { AppError } from '../http/app-error.js';
import type { PoolBounds } from './pool-name.js';
import type { PoolRequests } from './pool-requests.js';
import { parsePolicyChange, type PolicyChangeInput, type ScalerPolicy } from './scaler-policy.js';
import { loadScalerPolicy, saveScalerPolicy } from './scaler-policy-store.js';

/** The course's configure_cache parameters (all optional, as strings from a query or a form). */
export type ConfigurationChange = PolicyChangeInput & { numNodes?: string; cacheSize?: string; policy?: string };

export type Configuration = { mode: ScalerPolicy['mode']; numNodes: number; cacheSize: number; policy: CachePolicy };

type Deps = { db: Db; requests: PoolRequests; bounds?: PoolBounds };

const blank = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

function parseCacheChange(change: ConfigurationChange, current: CacheConfig, errors: string[]): CacheConfig {
  const next = { ...current };
  if (!blank(change.cacheSize)) {
    const mb = Number(change.cacheSize);
    if (!/^\s*\d+\s*$/.test(change.cacheSize) || mb < MIN_CAPACITY_MB || mb > MAX_CAPACITY_MB) {
      errors.push(`cacheSize must be a whole number of MB from ${MIN_CAPACITY_MB} to ${MAX_CAPACITY_MB}, got ${JSON.stringify(change.cacheSize)}`);
    } else next.capacityMb = mb;
  }
  if (!blank(change.policy)) {
    const policy = change.policy.trim().toUpperCase();
    if (!CACHE_POLICIES.includes(policy as CachePolicy)) {
      errors.push(`policy must be ${CACHE_POLICIES.join(' or ')}, got ${JSON.stringify(change.policy)}`);
    } else next.policy = policy as CachePolicy;
  }
  return next;
}

function parseNumNodes(raw: string | undefined, errors: string[]): number | undefined {
  if (blank(raw)) return undefined;
  if (!/^\s*\d+\s*$/.test(raw)) {
    errors.push(`numNodes must be a whole number, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return Number(raw);
}

const nodes = (n: number) => `${n} node${n === 1 ? '' : 's'}`;

/** The desired-state write refuses the same sizes, but only after the rest was applied; checking first keeps a refusal a no-op. */
function checkBounds(numNodes: number, bounds: PoolBounds | undefined, errors: string[]): void {
  if (!bounds) return;
  if (numNodes < bounds.min) errors.push(`the pool cannot shrink below its minimum of ${nodes(bounds.min)} (numNodes=${numNodes})`);
  else if (numNodes > bounds.max) errors.push(`the pool cannot grow above its maximum of ${nodes(bounds.max)} (numNodes=${numNodes})`);
}

/**
 * Validates every parameter first (nothing changes if any is wrong), then applies:
 * the cache configuration to every node, the scaler policy, and in manual mode the
 * pool size. In automatic mode numNodes is ignored: the scaler owns the size. The cache
 * configuration and the size are desired-state writes the leader applies; the call
 * returns once it has (or says plainly that it has not).
 */
export async function applyConfiguration({ db, requests, bounds }: Deps, change: ConfigurationChange): Promise<Configuration> {
  const errors: string[] = [];
  const currentCache = await loadSharedCacheConfig(db);
  const cache = parseCacheChange(change, currentCache, errors);
  const currentPolicy = await loadScalerPolicy(db);
  const parsedPolicy = parsePolicyChange(change, currentPolicy);
  if ('errors' in parsedPolicy) errors.push(...parsedPolicy.errors);
  const numNodes = parseNumNodes(change.numNodes, errors);
  // In automatic mode numNodes is ignored, so only a manual resize is checked against the bounds.
  if (numNodes !== undefined && 'policy' in parsedPolicy && parsedPolicy.policy.mode === 'manual') checkBounds(numNodes, bounds, errors);
  if (errors.length > 0 || 'errors' in parsedPolicy) throw new AppError(400, errors.join('; '));

  if (cache.capacityMb !== currentCache.capacityMb || cache.policy !== currentCache.policy) {
    await requests.configure(cache);
  }
  // A call that changes nothing (no parameters, or only unknown ones) writes nothing either.
  const unchanged = (Object.keys(currentPolicy) as (keyof ScalerPolicy)[]).every((k) => currentPolicy[k] === parsedPolicy.policy[k]);
  const policy = unchanged ? currentPolicy : await saveScalerPolicy(db, parsedPolicy.policy);
  if (numNodes !== undefined && policy.mode === 'manual') {
    await requests.resize(numNodes, { actor: 'operator', reason: `configure_cache numNodes=${numNodes}` });
  }
  return { mode: policy.mode, numNodes: await requests.actual(), cacheSize: cache.capacityMb, policy: cache.policy };
}
