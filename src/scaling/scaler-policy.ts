// The auto-scaler's rules (SPEC §5) as pure functions: validating a policy change and
// deciding a pool size from one window of statistics.

import {
  grownSize,
  growRatioField,
  modeField,
  percent,
  policyChange,
  POLICY_MODES,
  rateField,
  shrinkRatioField,
  shrunkSize,
  type PolicyMode,
} from './policy-fields.js';

export { percent } from './policy-fields.js';
export const SCALER_MODES = POLICY_MODES;
export type ScalerMode = PolicyMode;

/** Miss rates are fractions: 0 < minMissRate < maxMissRate < 1. */
export type ScalerPolicy = {
  mode: ScalerMode;
  maxMissRate: number;
  minMissRate: number;
  expandRatio: number;
  shrinkRatio: number;
};

/** Field names as the JSON API and the console form send them. */
export type PolicyChangeInput = Partial<Record<PolicyField, string | number | undefined>>;
export type PolicyField = 'mode' | 'maxMiss' | 'minMiss' | 'expRatio' | 'shrinkRatio';

/**
 * Merges the given fields into `current` and validates the result. Each error is a
 * sentence naming the field and the rejected value, fit to show an operator.
 */
export function parsePolicyChange(
  input: PolicyChangeInput,
  current: ScalerPolicy,
): { policy: ScalerPolicy } | { errors: string[] } {
  const change = policyChange(current);
  change.field(input.mode, 'Mode (mode)', 'mode', modeField);
  const ratesValid = [
    change.field(input.maxMiss, 'Max miss rate (maxMiss)', 'maxMissRate', rateField),
    change.field(input.minMiss, 'Min miss rate (minMiss)', 'minMissRate', rateField),
  ].every(Boolean);
  const { policy, errors } = change;
  if (ratesValid && policy.minMissRate >= policy.maxMissRate) {
    errors.push(
      `Min miss rate (minMiss) must be below max miss rate (maxMiss), but ${percent(policy.minMissRate)} is not below ${percent(policy.maxMissRate)}.`,
    );
  }
  change.field(input.expRatio, 'Expand ratio (expRatio)', 'expandRatio', growRatioField);
  change.field(input.shrinkRatio, 'Shrink ratio (shrinkRatio)', 'shrinkRatio', shrinkRatioField);
  return errors.length > 0 ? { errors } : { policy };
}

export type DecideInput = {
  policy: ScalerPolicy;
  /** Active nodes now. */
  nodes: number;
  minNodes: number;
  maxNodes: number;
  window: { reported: boolean; lookups: number; misses: number };
  /** Whether the window holds only data gathered after the last resize. */
  fullWindow: boolean;
};

/** `target === nodes` means no change; the reason is recorded with the decision. */
export type Decision = { target: number; reason: string; missRate: number };

const count = new Intl.NumberFormat('en-US');
const nodesWord = (n: number) => `${n} node${n === 1 ? '' : 's'}`;

export function decide({ policy, nodes, minNodes, maxNodes, window, fullWindow }: DecideInput): Decision {
  const missRate = window.lookups > 0 ? window.misses / window.lookups : 0;
  const keep = (reason: string): Decision => ({ target: nodes, reason, missRate });
  if (policy.mode === 'manual') return keep('manual mode');
  if (!fullWindow) return keep(`waiting for a full window of data since the last resize: keep ${nodesWord(nodes)}`);
  // Read as idle, a window the statistics never reached (their publisher, the manager, is
  // down) would shrink a busy pool and empty its caches.
  if (!window.reported) return keep(`no node statistics arrived in the last window (the manager publishes them): keep ${nodesWord(nodes)}`);

  const seen = window.lookups > 0 ? `miss rate ${percent(missRate)}` : `no look-ups (idle, miss rate ${percent(0)})`;
  const over = window.lookups > 0 ? ` over ${count.format(window.lookups)} look-up${window.lookups === 1 ? '' : 's'}` : '';
  const bounds = { min: minNodes, max: maxNodes };

  let target: number;
  let observation: string;
  let bound: string;
  if (missRate > policy.maxMissRate) {
    target = grownSize(nodes, policy.expandRatio, bounds);
    observation = `${seen} above ${percent(policy.maxMissRate)}${over}`;
    bound = `already at the maximum of ${nodesWord(maxNodes)}`;
  } else if (missRate < policy.minMissRate) {
    target = shrunkSize(nodes, policy.shrinkRatio, bounds);
    observation = `${seen} below ${percent(policy.minMissRate)}${over}`;
    bound = `already at the minimum of ${nodesWord(minNodes)}`;
  } else {
    return keep(`${seen} within ${percent(policy.minMissRate)}–${percent(policy.maxMissRate)}${over}: keep ${nodesWord(nodes)}`);
  }
  if (target === nodes) return keep(`${observation}: ${bound}`);
  return { target, reason: `${observation}: ${target > nodes ? 'grow' : 'shrink'} ${nodes} → ${target}`, missRate };
}
