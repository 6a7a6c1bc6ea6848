import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CACHE_POLICIES, MAX_CAPACITY_MB, MIN_CAPACITY_MB, type CacheConfig } from '../../cache/cache-types.js';
import { loadSharedCacheConfig } from '../../cache/shared-cache-config.js';
import { AppError } from '../../http/app-error.js';
import { applyConfiguration } from '../../scaling/apply-configuration.js';
import { csrfField, followPool, htmlPage, mb, plural } from './console-helpers.js';

type CacheForm = { cacheSize?: string; policy?: string };

const CacheBodySchema = {
  type: 'object',
  properties: { ...csrfField, cacheSize: { type: 'string' }, policy: { type: 'string' } },
} as const;

/** Cache configuration: one capacity and one policy for every node (SPEC §6). */
export const cachePage: FastifyPluginAsync = async (app) => {
  const { db, pool } = app.services;

  async function render(request: FastifyRequest, reply: FastifyReply, form?: CacheForm, error?: string) {
    const warning = await followPool(request);
    const current = await loadSharedCacheConfig(db);
    const shown = { cacheSize: form?.cacheSize ?? String(current.capacityMb), policy: form?.policy ?? current.policy };
    const nodes = (await pool.status()).map((s) => ({
      id: s.id,
      error: s.error,
      capacityMb: s.stats && s.stats.capacityBytes / 1048576,
      policy: s.stats?.policy,
      items: s.stats?.items,
      usedMb: s.stats && mb(s.stats.bytes),
      differs: s.stats !== undefined && (s.stats.capacityBytes !== current.capacityMb * 1048576 || s.stats.policy !== current.policy),
    }));
    return reply.viewAsync('pages/manager-cache.hbs', {
      title: 'Cache',
      nav: { cache: true },
      current,
      form: shown,
      policies: CACHE_POLICIES.map((p) => ({ value: p, selected: p === shown.policy.trim().toUpperCase() })),
      minMb: MIN_CAPACITY_MB,
      maxMb: MAX_CAPACITY_MB,
      nodes,
      warning,
      error,
    });
  }

  app.get('/cache', { schema: htmlPage }, async (request, reply) => render(request, reply));

  app.post<{ Body: CacheForm }>('/cache', { schema: { body: CacheBodySchema } }, async (request, reply) => {
    const { cacheSize, policy } = request.body;
    const before = await loadSharedCacheConfig(db);
    try {
      const applied = await applyConfiguration(app.services, { cacheSize, policy });
      request.session.flash = { kind: 'success', text: describeChange(before, { capacityMb: applied.cacheSize, policy: applied.policy }, pool.nodes().length) };
      return reply.redirect('/cache');
    } catch (err) {
      // The form comes back with what was typed and the reason, so nothing has to be re-entered.
      if (!(err instanceof AppError)) throw err;
      reply.code(err.statusCode);
      return render(request, reply, { cacheSize, policy }, err.message);
    }
  });
};

function describeChange(before: CacheConfig, after: CacheConfig, nodes: number): string {
  const what = `${after.capacityMb} MB, ${after.policy}`;
  if (before.capacityMb === after.capacityMb && before.policy === after.policy) return `Nothing to change: every node already runs ${what}.`;
  return `Applied ${what} to every node (${plural(nodes, 'node')}); the entries that fit were kept.`;
}
