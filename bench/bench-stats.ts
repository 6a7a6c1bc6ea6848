import type { Verdict } from './bench-types.js';

/** The middle value (upper middle for an even count): one slow or lucky run cannot move it. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export function atLeast(what: string, value: number, limit: number, digits = 2): Verdict {
  return { what, value, target: `≥ ${limit.toFixed(digits)}`, met: value >= limit };
}

export function atMost(what: string, value: number, limit: number, digits = 2): Verdict {
  return { what, value, target: `≤ ${limit.toFixed(digits)}`, met: value <= limit };
}

export const fixed = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
export const percent = (x: number, digits = 1) => `${(x * 100).toFixed(digits)} %`;
export const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
