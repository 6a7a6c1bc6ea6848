import type { FastifyRequest } from 'fastify';
import { hitRate } from '../../cache/cache-stats.js';
import type { NodeStatus } from '../../pool/cache-pool.js';
import { percent, SCALER_MODES, type PolicyField, type ScalerPolicy } from '../../scaling/scaler-policy.js';
import { loadScalerPolicy } from '../../scaling/scaler-policy-store.js';
import { readPoolState, type PoolState } from '../../scaling/desired-state.js';
import { followPool, mb } from './console-helpers.js';

export type PolicyForm = Partial<Record<PolicyField, string>>;
export type PoolBounds = { minNodes: number; maxNodes: number };

const HISTORY_ROWS = 50;

type PoolNodeRow = { id: string; instanceId: string | null; address: string | null; state: string; since: Date };
type EventRow = { at: Date; actor: string; fromNodes: number; toNodes: number; missRate: number | null; reason: string };

/** Shown in UTC (the column says so), so every operator reads the same clock. */
const time = (at: Date) => ({ iso: at.toISOString(), text: at.toISOString().slice(0, 19).replace('T', ' ') });

/** Rates as percentages with their sign, which the policy parser reads back unambiguously. */
function formOf(policy: ScalerPolicy): PolicyForm {
  const pct = (rate: number) => `${+(rate * 100).toFixed(4)}%`;
  return {
    mode: policy.mode,
    maxMiss: pct(policy.maxMissRate),
    minMiss: pct(policy.minMissRate),
    expRatio: String(policy.expandRatio),
    shrinkRatio: String(policy.shrinkRatio),
  };
}

/** The recorded members joined with this process's live view of them; one failing node is one error row. */
function nodeRows(rows: PoolNodeRow[], statuses: NodeStatus[]) {
  const byId = new Map(statuses.map((s) => [s.id, s]));
  const joined = rows.map((row) => ({ row, status: byId.get(row.id) }));
  const unrecorded = statuses.filter((s) => !rows.some((r) => r.id === s.id)).map((status) => ({ row: undefined, status }));
  return [...joined, ...unrecorded].map(({ row, status }) => {
    const stats = status?.stats;
    return {
      id: row?.id ?? status!.id,
      instanceId: row?.instanceId ?? '—',
      address: row?.address ?? '—',
      state: row?.state ?? 'not recorded',
      since: row && time(row.since),
      stats: stats && { items: stats.items, mb: mb(stats.bytes), hitRate: percent(hitRate(stats)), lookups: stats.lookups },
      error: status ? status.error : 'not routed by this process yet',
      errors: status?.errors ?? 0,
      suspect: status?.suspect ?? false,
    };
  });
}

/** A desired state the leader has not reached (yet): what was asked, and who is (or is not) working on it. */
function pendingOf(state: PoolState | null, size: number) {
  if (!state) return { pending: false };
  const desired = state.desiredSize ?? size;
  const pending = desired !== size || state.appliedVersion < state.desiredVersion || state.applyNote !== null;
  const leading = state.leaderId !== null && state.leaseExpiresAt !== null && state.leaseExpiresAt.getTime() > Date.now();
  const leaderText = leading ? `The leader manager (${state.leaderId}) is applying it.` : 'No manager leads the pool right now: it will be applied when one takes over.';
  return { pending, desired, applyNote: state.applyNote, leaderText };
}

/** Everything the pool page shows; a rejected policy form comes back with what was typed. */
export async function poolView(request: FastifyRequest, bounds: PoolBounds, rejected?: { form: PolicyForm; errors: string[] }) {
  const { db, pool } = request.server.services;
  const warning = await followPool(request);
  const [state, policy, rows, statuses, events] = await Promise.all([
    readPoolState(db, 'cache'),
    loadScalerPolicy(db),
    db.poolNode.findMany({ where: { pool: 'cache' }, orderBy: [{ since: 'asc' }, { id: 'asc' }] }),
    pool.status(),
    db.scalingEvent.findMany({ where: { pool: 'cache' }, orderBy: { id: 'desc' }, take: HISTORY_ROWS }),
  ]);
  const size = rows.filter((r) => r.state === 'active').length;
  const form = rejected?.form ?? formOf(policy);
  return {
    title: 'Pool',
    nav: { pool: true },
    warning,
    mode: policy.mode,
    auto: policy.mode === 'auto',
    band: `${percent(policy.minMissRate)}–${percent(policy.maxMissRate)}`,
    policy,
    size,
    ...pendingOf(state, size),
    ...bounds,
    atMin: size <= bounds.minNodes,
    atMax: size >= bounds.maxNodes,
    form,
    modes: SCALER_MODES.map((m) => ({ value: m, selected: m === form.mode?.trim().toLowerCase() })),
    policyErrors: rejected?.errors,
    nodes: nodeRows(rows, statuses),
    events: (events as EventRow[]).map((e) => ({
      at: time(e.at),
      actor: e.actor,
      from: e.fromNodes,
      to: e.toNodes,
      missRate: e.missRate === null ? '—' : percent(e.missRate),
      reason: e.reason,
    })),
  };
}
