// The web pool's rules as pure functions, beside the cache pool's (scaler-policy.ts):
// validating a policy change and deciding a worker count from the workers' CPU.

import {
  growRatioField,
  grownSize,
  modeField,
  percent,
  policyChange,
  rateField,
  secondsField,
  shrinkRatioField,
  shrunkSize,
  type PolicyMode,
  type RawField,
} from './policy-fields.js';

/** CPU thresholds are fractions of one core: 0 < shrinkCpu < growCpu < 1. */
export type WorkerPolicy = {
  mode: PolicyMode;
  growCpu: number;
  shrinkCpu: number;
  growRatio: number;
  shrinkRatio: number;
  /** How long after a resize of the web pool the scaler holds, so a new worker's start-up is not read as load. */
  cooldownS: number;
};

export type WorkerPolicyField = keyof WorkerPolicy;
export type WorkerPolicyChangeInput = Partial<Record<WorkerPolicyField, RawField>>;

/** A cool-down longer than a day leaves the pool unscaled for good: a typo, not a policy. */
export const MAX_COOLDOWN_S = 24 * 60 * 60;

/** Merges the given fields into `current` and validates the result; each error names the field and the value. */
export function parseWorkerPolicyChange(
  input: WorkerPolicyChangeInput,
  current: WorkerPolicy,
): { policy: WorkerPolicy } | { errors: string[] } {
  const change = policyChange(current);
  change.field(input.mode, 'Mode (mode)', 'mode', modeField);
  const thresholdsValid = [
    change.field(input.growCpu, 'Grow above CPU (growCpu)', 'growCpu', rateField),
    change.field(input.shrinkCpu, 'Shrink below CPU (shrinkCpu)', 'shrinkCpu', rateField),
  ].every(Boolean);
  const { policy, errors } = change;
  if (thresholdsValid && policy.shrinkCpu >= policy.growCpu) {
    errors.push(
      `Shrink below CPU (shrinkCpu) must be below grow above CPU (growCpu), but ${percent(policy.shrinkCpu)} is not below ${percent(policy.growCpu)}.`,
    );
  }
  change.field(input.growRatio, 'Grow ratio (growRatio)', 'growRatio', growRatioField);
  change.field(input.shrinkRatio, 'Shrink ratio (shrinkRatio)', 'shrinkRatio', shrinkRatioField);
  change.field(input.cooldownS, 'Cool-down (cooldownS)', 'cooldownS', secondsField(MAX_COOLDOWN_S));
  return errors.length > 0 ? { errors } : { policy };
}

export type DecideWorkersInput = {
  policy: WorkerPolicy;
  /** Workers now (the desired size). */
  workers: number;
  minWorkers: number;
  maxWorkers: number;
  /** The workers' CPU over the last `windowMs`, averaged over the workers that reported. */
  window: { reported: boolean; cpu: number };
  windowMs: number;
  /** Since the web pool last changed size, by anyone; undefined when it never did. */
  msSinceResize: number | undefined;
};

/** `target === workers` means no change; the reason is recorded with the decision. */
export type WorkerDecision = { target: number; reason: string; cpu: number };

const workersWord = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;

/** "4 min 10 s", "45 s": how an operator reads a wait. */
function duration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes === 0) return `${rest} s`;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

export function decideWorkers({ policy, workers, minWorkers, maxWorkers, window, windowMs, msSinceResize }: DecideWorkersInput): WorkerDecision {
  const cpu = window.reported ? window.cpu : 0;
  const keep = (reason: string): WorkerDecision => ({ target: workers, reason, cpu });
  if (policy.mode === 'manual') return keep('manual mode');

  const cooldownMs = policy.cooldownS * 1000;
  if (msSinceResize !== undefined && msSinceResize < cooldownMs) {
    return keep(
      `cooling down after the last resize of the web pool: ${duration(cooldownMs - msSinceResize)} of ${duration(cooldownMs)} left; keep ${workersWord(workers)}`,
    );
  }
  // Read as idle, a window no worker reported in (their statistics are not arriving) would shrink a busy pool.
  if (!window.reported) return keep(`no worker reported its CPU in the last ${duration(windowMs)}: keep ${workersWord(workers)}`);

  const seen = `average CPU ${percent(cpu)} over the last ${duration(windowMs)}`;
  const bounds = { min: minWorkers, max: maxWorkers };
  let target: number;
  let observation: string;
  let bound: string;
  if (cpu > policy.growCpu) {
    target = grownSize(workers, policy.growRatio, bounds);
    observation = `${seen} above ${percent(policy.growCpu)}`;
    bound = `already at the maximum of ${workersWord(maxWorkers)}`;
  } else if (cpu < policy.shrinkCpu) {
    target = shrunkSize(workers, policy.shrinkRatio, bounds);
    observation = `${seen} below ${percent(policy.shrinkCpu)}`;
    bound = `already at the minimum of ${workersWord(minWorkers)}`;
  } else {
    return keep(`${seen} within ${percent(policy.shrinkCpu)}–${percent(policy.growCpu)}: keep ${workersWord(workers)}`);
  }
  if (target === workers) return keep(`${observation}: ${bound}`);
  return { target, reason: `${observation}: ${target > workers ? 'grow' : 'shrink'} ${workers} → ${target}`, cpu };
}
