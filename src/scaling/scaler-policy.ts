// The auto-scaler's rules (SPEC §5) as pure functions: validating a policy change and
// deciding a pool size from one window of statistics.

export const SCALER_MODES = ['manual', 'auto'] as const;
export type ScalerMode = (typeof SCALER_MODES)[number];

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

/** Growing more than tenfold in one step is a typo, not a policy. */
export const MAX_EXPAND_RATIO = 10;

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const shown = (raw: string | number) => (typeof raw === 'string' ? JSON.stringify(raw) : String(raw));
export const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;

/** Empty strings count as "not given", so a blank form field or `?maxMiss=` keeps the current value. */
function given(raw: string | number | undefined): raw is string | number {
  return raw !== undefined && !(typeof raw === 'string' && raw.trim() === '');
}

function toNumber(raw: string | number): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  const text = raw.trim();
  return NUMBER.test(text) ? Number(text) : undefined;
}

/** A fraction (0.2), a percentage (20) or a percentage with its sign ("20%"). */
function toRate(raw: string | number): number | undefined {
  if (typeof raw === 'string' && raw.trim().endsWith('%')) {
    const value = toNumber(raw.trim().slice(0, -1));
    return value === undefined ? undefined : value / 100;
  }
  const value = toNumber(raw);
  if (value === undefined) return undefined;
  return value > 1 && value <= 100 ? value / 100 : value;
}

/**
 * Merges the given fields into `current` and validates the result. Each error is a
 * sentence naming the field and the rejected value, fit to show an operator.
 */
export function parsePolicyChange(
  input: PolicyChangeInput,
  current: ScalerPolicy,
): { policy: ScalerPolicy } | { errors: string[] } {
  const errors: string[] = [];
  const policy = { ...current };

  if (given(input.mode)) {
    const mode = String(input.mode).trim().toLowerCase();
    if ((SCALER_MODES as readonly string[]).includes(mode)) policy.mode = mode as ScalerMode;
    else errors.push(`Mode (mode) must be "manual" or "auto", not ${shown(input.mode)}.`);
  }

  const rates = [
    ['maxMiss', 'Max miss rate (maxMiss)', 'maxMissRate'],
    ['minMiss', 'Min miss rate (minMiss)', 'minMissRate'],
  ] as const;
  let ratesValid = true;
  for (const [field, label, key] of rates) {
    const raw = input[field];
    if (!given(raw)) continue;
    const rate = toRate(raw);
    if (rate !== undefined && rate > 0 && rate < 1) {
      policy[key] = rate;
      continue;
    }
    ratesValid = false;
    errors.push(`${label} must be a fraction between 0 and 1 or a percentage between 0 and 100 (exclusive), not ${shown(raw)}.`);
  }
  if (ratesValid && policy.minMissRate >= policy.maxMissRate) {
    errors.push(
      `Min miss rate (minMiss) must be below max miss rate (maxMiss), but ${percent(policy.minMissRate)} is not below ${percent(policy.maxMissRate)}.`,
    );
  }

  if (given(input.expRatio)) {
    const ratio = toNumber(input.expRatio);
    if (ratio === undefined || ratio <= 1 || ratio > MAX_EXPAND_RATIO) {
      errors.push(`Expand ratio (expRatio) must be a number above 1 and at most ${MAX_EXPAND_RATIO}, not ${shown(input.expRatio)}.`);
    } else policy.expandRatio = ratio;
  }

  if (given(input.shrinkRatio)) {
    const ratio = toNumber(input.shrinkRatio);
    if (ratio === undefined || ratio <= 0 || ratio >= 1) {
      errors.push(`Shrink ratio (shrinkRatio) must be a number between 0 and 1 (exclusive), not ${shown(input.shrinkRatio)}.`);
    } else policy.shrinkRatio = ratio;
  }

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

// n × ratio in binary floating point can land a hair past an integer (10 × 1.1 =
// 11.000000000000002), which ceil would turn into a whole extra node.
const EPSILON = 1e-9;

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
  // Clamping on both sides is a no-op inside the bounds and brings a pool outside them back.
  const clamp = (n: number) => Math.min(maxNodes, Math.max(minNodes, n));

  let target: number;
  let observation: string;
  let bound: string;
  if (missRate > policy.maxMissRate) {
    target = clamp(Math.ceil(nodes * policy.expandRatio - EPSILON));
    observation = `${seen} above ${percent(policy.maxMissRate)}${over}`;
    bound = `already at the maximum of ${nodesWord(maxNodes)}`;
  } else if (missRate < policy.minMissRate) {
    target = clamp(Math.floor(nodes * policy.shrinkRatio + EPSILON));
    observation = `${seen} below ${percent(policy.minMissRate)}${over}`;
    bound = `already at the minimum of ${nodesWord(minNodes)}`;
  } else {
    return keep(`${seen} within ${percent(policy.minMissRate)}–${percent(policy.maxMissRate)}${over}: keep ${nodesWord(nodes)}`);
  }
  if (target === nodes) return keep(`${observation}: ${bound}`);
  return { target, reason: `${observation}: ${target > nodes ? 'grow' : 'shrink'} ${nodes} → ${target}`, missRate };
}
