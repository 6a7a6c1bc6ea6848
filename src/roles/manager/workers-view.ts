import type { FastifyRequest } from 'fastify';
import { MINUTE_MS, floorToMinute } from '../../metrics/minute-series.js';
import { probeHealth } from '../../scaling/http-probe.js';
import { percent, POLICY_MODES } from '../../scaling/policy-fields.js';
import type { WorkerPolicy, WorkerPolicyField } from '../../scaling/worker-policy.js';
import { loadWorkerPolicy } from '../../scaling/worker-policy-store.js';

export type WorkerPolicyForm = Partial<Record<WorkerPolicyField, string>>;
export type WorkerBounds = { minWorkers: number; maxWorkers: number };

/** The states the list can be filtered by: as recorded, or not answering its health check. */
export const WORKER_FILTERS = ['all', 'active', 'stopping', 'unhealthy'] as const;
export type WorkerFilter = (typeof WORKER_FILTERS)[number];

const HISTORY_ROWS = 50;
/** A page waits this long for a worker's health route; a slower answer is as bad as none. */
const HEALTH_TIMEOUT_MS = 1000;

type WorkerRow = { id: string; instanceId: string | null; address: string | null; state: string; leaving: boolean; since: Date };

/** Shown in UTC (the column says so), so every operator reads the same clock. */
export const time = (at: Date) => ({ iso: at.toISOString(), text: at.toISOString().slice(0, 19).replace('T', ' ') });

/** Thresholds as percentages with their sign, which the policy parser reads back unambiguously. */
function formOf(policy: WorkerPolicy): WorkerPolicyForm {
  const pct = (rate: number) => `${+(rate * 100).toFixed(4)}%`;
  return {
    mode: policy.mode,
    growCpu: pct(policy.growCpu),
    shrinkCpu: pct(policy.shrinkCpu),
    growRatio: String(policy.growRatio),
    shrinkRatio: String(policy.shrinkRatio),
    cooldownS: String(policy.cooldownS),
  };
}

/** A worker stopping on the operator's request says so; otherwise its recorded state. */
const stateOf = (row: WorkerRow) => (row.leaving ? 'stopping' : row.state);

/** Whether the worker answers its health route now (the same route the leader checks). */
async function healthOf(address: string | null): Promise<'healthy' | 'not answering' | 'no address'> {
  if (!address || !/^https?:\/\//.test(address)) return 'no address';
  return (await probeHealth(`${address}/health`, HEALTH_TIMEOUT_MS)) ? 'healthy' : 'not answering';
}

/**
 * The worker's last complete minute with a report: the current minute is still being counted,
 * so its requests would read low. Nothing in the last two minutes: no figures, not zeros.
 */
async function lastMinuteOf(request: FastifyRequest, workerId: string) {
  const to = floorToMinute(new Date());
  const points = await request.server.services.metrics.workerSeries(new Date(to.getTime() - 2 * MINUTE_MS), to, workerId);
  const last = points.at(-1);
  return last && { cpu: percent(last.cpu), requests: last.requests.toLocaleString('en') };
}

export async function workerRows(request: FastifyRequest, rows: WorkerRow[]) {
  return Promise.all(
    rows.map(async (row) => {
      const [health, stats] = await Promise.all([healthOf(row.address), lastMinuteOf(request, row.id)]);
      return {
        id: row.id,
        instanceId: row.instanceId ?? '—',
        address: row.address ?? '—',
        state: stateOf(row),
        since: time(row.since),
        health,
        healthy: health === 'healthy',
        stats,
      };
    }),
  );
}

const matches = (filter: WorkerFilter) => (w: { state: string; healthy: boolean }) =>
  filter === 'all' || (filter === 'unhealthy' ? !w.healthy : w.state === filter);

/** Everything the workers page shows; a rejected policy form comes back with what was typed. */
export async function workersView(
  request: FastifyRequest,
  { bounds, filter, rejected }: { bounds: WorkerBounds; filter: WorkerFilter; rejected?: { form: WorkerPolicyForm; errors: string[] } },
) {
  const { db } = request.server.services;
  const [policy, rows, events] = await Promise.all([
    loadWorkerPolicy(db),
    db.poolNode.findMany({ where: { pool: 'web' }, orderBy: [{ since: 'asc' }, { id: 'asc' }] }),
    db.scalingEvent.findMany({ where: { pool: 'web' }, orderBy: { id: 'desc' }, take: HISTORY_ROWS }),
  ]);
  const workers = await workerRows(request, rows);
  const size = rows.filter((r) => r.state === 'active' && !r.leaving).length;
  const form = rejected?.form ?? formOf(policy);
  const shown = workers.filter(matches(filter));
  return {
    title: 'Workers',
    nav: { workers: true },
    configured: true,
    mode: policy.mode,
    auto: policy.mode === 'auto',
    band: `${percent(policy.shrinkCpu)}–${percent(policy.growCpu)}`,
    policy,
    size,
    ...bounds,
    atMin: size <= bounds.minWorkers,
    atMax: size >= bounds.maxWorkers,
    form,
    modes: POLICY_MODES.map((m) => ({ value: m, selected: m === form.mode?.trim().toLowerCase() })),
    policyErrors: rejected?.errors,
    filters: WORKER_FILTERS.map((f) => ({ value: f, selected: f === filter, count: workers.filter(matches(f)).length })),
    filter,
    filtered: filter !== 'all',
    workers: shown,
    total: workers.length,
    events: events.map((e) => ({
      at: time(e.at),
      actor: e.actor,
      from: e.fromNodes,
      to: e.toNodes,
      cpu: e.cpu === null ? '—' : percent(e.cpu),
      reason: e.reason,
    })),
  };
}
