// What the two pools' policies have in common: reading a change from a form or JSON body
// (numbers, rates, ratios, the mode) and turning a ratio into a size within bounds.

export const POLICY_MODES = ['manual', 'auto'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

export const isPolicyMode = (mode: string): mode is PolicyMode => (POLICY_MODES as readonly string[]).includes(mode);

/** Field values as the JSON API and the console form send them. */
export type RawField = string | number | undefined;

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const shown = (raw: string | number) => (typeof raw === 'string' ? JSON.stringify(raw) : String(raw));
export const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;

/** Empty strings count as "not given", so a blank form field or `?maxMiss=` keeps the current value. */
function given(raw: RawField): raw is string | number {
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

/** How one field is read: its parsed value, or undefined when it breaks `rule`. */
export type FieldRule<V> = { parse: (raw: string | number) => V | undefined; rule: string };

export const modeField: FieldRule<PolicyMode> = {
  parse: (raw) => {
    const mode = String(raw).trim().toLowerCase();
    return isPolicyMode(mode) ? mode : undefined;
  },
  rule: '"manual" or "auto"',
};

export const rateField: FieldRule<number> = {
  parse: (raw) => {
    const rate = toRate(raw);
    return rate !== undefined && rate > 0 && rate < 1 ? rate : undefined;
  },
  rule: 'a fraction between 0 and 1 or a percentage between 0 and 100 (exclusive)',
};

/** Growing more than tenfold in one step is a typo, not a policy. */
export const MAX_GROW_RATIO = 10;

export const growRatioField: FieldRule<number> = {
  parse: (raw) => {
    const ratio = toNumber(raw);
    return ratio !== undefined && ratio > 1 && ratio <= MAX_GROW_RATIO ? ratio : undefined;
  },
  rule: `a number above 1 and at most ${MAX_GROW_RATIO}`,
};

export const shrinkRatioField: FieldRule<number> = {
  parse: (raw) => {
    const ratio = toNumber(raw);
    return ratio !== undefined && ratio > 0 && ratio < 1 ? ratio : undefined;
  },
  rule: 'a number between 0 and 1 (exclusive)',
};

/** A whole number of seconds from 0 to `max`. */
export function secondsField(max: number): FieldRule<number> {
  return {
    parse: (raw) => {
      const seconds = toNumber(raw);
      return seconds !== undefined && Number.isInteger(seconds) && seconds >= 0 && seconds <= max ? seconds : undefined;
    },
    rule: `a whole number of seconds from 0 to ${max}`,
  };
}

/**
 * Merges a change into a policy one field at a time, collecting one sentence per rejected
 * field (naming the field and the value) instead of stopping at the first.
 */
export function policyChange<P extends object>(current: P) {
  const policy = { ...current };
  const errors: string[] = [];
  return {
    policy,
    errors,
    /** False when the field was given and rejected: checks across fields then have nothing sound to compare. */
    field<K extends keyof P>(raw: RawField, label: string, key: K, { parse, rule }: FieldRule<P[K]>): boolean {
      if (!given(raw)) return true;
      const value = parse(raw);
      if (value !== undefined) {
        policy[key] = value;
        return true;
      }
      errors.push(`${label} must be ${rule}, not ${shown(raw)}.`);
      return false;
    },
  };
}

// n × ratio in binary floating point can land a hair past an integer (10 × 1.1 =
// 11.000000000000002), which ceil would turn into a whole extra member.
const EPSILON = 1e-9;

export type SizeBounds = { min: number; max: number };

/** Clamping on both sides is a no-op inside the bounds and brings a pool outside them back. */
export const clampSize = (n: number, { min, max }: SizeBounds) => Math.min(max, Math.max(min, n));

/** The size after growing by `ratio`: rounded up, so any growth adds at least one member. */
export const grownSize = (n: number, ratio: number, bounds: SizeBounds) => clampSize(Math.ceil(n * ratio - EPSILON), bounds);

/** The size after shrinking by `ratio`: rounded down, so any shrink removes at least one member. */
export const shrunkSize = (n: number, ratio: number, bounds: SizeBounds) => clampSize(Math.floor(n * ratio + EPSILON), bounds);
