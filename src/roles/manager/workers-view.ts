import type { FastifyRequest } from 'fastify';
import { MINUTE_MS, floorToMinute } from '../../metrics/minute-series.js';
import { readPoolState } from '../../scaling/desired-state.js';
import { percent, POLICY_MODES } from '../../scaling/policy-fields.js';
import type { WebPool, WorkerView } from '../../scaling/web-pool.js';
import type { WorkerPolicy, WorkerPolicyField } from '../../scaling/worker-policy.js';
import { loadWorkerPolicy } from '../../scaling/worker-policy-store.js';
import { formPercent } from './console-helpers.js';
import { pendingOf, time } from './pool-page-view.js';

export type WorkerPolicyForm = Partial<Record<WorkerPolicyField, string>>;

/** The states the list can be filtered by: as recorded (leaving: being drained), or not answering its health check. */
export const WORKER_FILTERS = ['all', 'active', 'leaving', 'unhealthy'] as const;
export type WorkerFilter = (typeof WORKER_FILTERS)[number];

const HISTORY_ROWS = 50;

function formOf(policy: WorkerPolicy): WorkerPolicyForm {
  return {
    mode: policy.mode,
    growCpu: formPercent(policy.growCpu),
    shrinkCpu: formPercent(policy.shrinkCpu),
    growRatio: String(policy.growRatio),
    shrinkRatio: String(policy.shrinkRatio),
    cooldownS: String(policy.cooldownS),
  };
}

/**
 * The worker's last complete minute with a report: the current minute is still being counted,
 * so its requests would read low. Nothing in the last two minutes: no figures, not zeros.
 */
async function lastMinuteOf(request: FastifyRequest, workerId: string) {
  const to = floorToMinute(new Date());
  const points = await request.server.services.metrics.workerSeries(new Date(to.getTime() - 2 * MINUTE_MS), to, workerId);
  const last = points.findLast((p) => p.workers > 0);
  return last && { cpu: last.cpu === null ? '—' : percent(last.cpu), requests: last.requests === null ? '—' : last.requests.toLocaleString('en') };
}

/** The workers as the web pool lists them (health checked now), with their last minute's figures. */
export async function workerRows(request: FastifyRequest, workers: WorkerView[]) {
  return Promise.all(
    workers.map(async (worker) => ({
      id: worker.id,
      instanceId: worker.instanceId ?? '—',
      address: worker.address || '—',
      state: worker.state,
      since: time(worker.since),
      healthy: worker.healthy,
      stats: await lastMinuteOf(request, worker.id),
    })),
  );
}

const matches = (filter: WorkerFilter) => (w: { state: string; healthy: boolean }) =>
  filter === 'all' || (filter === 'unhealthy' ? !w.healthy : w.state === filter);

/** Everything the workers page shows; a rejected policy form comes back with what was typed. */
export async function workersView(
  request: FastifyRequest,
  web: WebPool,
  { filter, rejected }: { filter: WorkerFilter; rejected?: { form: WorkerPolicyForm; errors: string[] } },
) {
  const { db } = request.server.services;
  const [state, policy, listed, events] = await Promise.all([
    readPoolState(db, 'web'),
    loadWorkerPolicy(db),
    web.list(),
    db.scalingEvent.findMany({ where: { pool: 'web' }, orderBy: { id: 'desc' }, take: HISTORY_ROWS }),
  ]);
  const workers = await workerRows(request, listed);
  const size = listed.length;
  const { min, max } = web.bounds;
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
    ...pendingOf(state, size),
    minWorkers: min,
    maxWorkers: max,
    atMin: size <= min,
    atMax: size >= max,
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
