import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, parsePolicyChange, type DecideInput, type ScalerPolicy } from '../src/scaling/scaler-policy.js';

const auto = (maxMissRate: number, minMissRate: number, expandRatio = 2, shrinkRatio = 0.5): ScalerPolicy => ({
  mode: 'auto',
  maxMissRate,
  minMissRate,
  expandRatio,
  shrinkRatio,
});
const defaults: ScalerPolicy = { mode: 'manual', maxMissRate: 0.8, minMissRate: 0.2, expandRatio: 2, shrinkRatio: 0.5 };

type Window = { lookups: number; misses: number };

/** A decision's input; the window is one the nodes reported in unless it says otherwise. */
function input({ window, ...overrides }: Omit<Partial<DecideInput>, 'window'> & { window?: Window & { reported?: boolean } }): DecideInput {
  return {
    policy: auto(0.8, 0.2),
    nodes: 1,
    minNodes: 1,
    maxNodes: 8,
    window: { reported: true, lookups: 0, misses: 0, ...window },
    fullWindow: true,
    ...overrides,
  };
}

/** Runs the scaler minute after minute against a simulated pool; returns the sizes it went through. */
function simulate(policy: ScalerPolicy, start: number, window: Window, minutes: number): number[] {
  const sizes = [start];
  for (let i = 0; i < minutes; i++) {
    const nodes = sizes.at(-1)!;
    sizes.push(decide(input({ policy, nodes, window })).target);
  }
  return sizes;
}

function parsed(result: ReturnType<typeof parsePolicyChange>): ScalerPolicy {
  assert.ok('policy' in result, `expected a policy, got ${JSON.stringify(result)}`);
  return result.policy;
}

function rejected(result: ReturnType<typeof parsePolicyChange>): string[] {
  assert.ok('errors' in result, `expected errors, got ${JSON.stringify(result)}`);
  return result.errors;
}

describe('scaler decisions (SPEC §5 scenarios)', () => {
  it('keeps a fresh one-node pool at 1 when idle or in band', () => {
    const idle = decide(input({ policy: auto(0.9, 0.65) }));
    assert.equal(idle.target, 1);
    assert.match(idle.reason, /already at the minimum of 1 node/);
    assert.equal(decide(input({ window: { lookups: 100, misses: 50 } })).target, 1);
  });

  it('grows 1 → 2 → 4 → 8 and stays at 8 when every look-up misses', () => {
    const sizes = simulate(auto(0.2, 0.1, 2, 0.5), 1, { lookups: 1234, misses: 1234 }, 5);
    assert.deepEqual(sizes, [1, 2, 4, 8, 8, 8]);
    const step = decide(input({ policy: auto(0.2, 0.1), nodes: 2, window: { lookups: 1234, misses: 1234 } }));
    assert.deepEqual(step, { target: 4, missRate: 1, reason: 'miss rate 100.0% above 20.0% over 1,234 look-ups: grow 2 → 4' });
    const atMax = decide(input({ policy: auto(0.2, 0.1), nodes: 8, window: { lookups: 5, misses: 5 } }));
    assert.match(atMax.reason, /already at the maximum of 8 nodes/);
  });

  it('shrinks 8 → 4 → 2 → 1 and stays at 1 with no look-ups', () => {
    const sizes = simulate(auto(0.9, 0.65, 2, 0.5), 8, { lookups: 0, misses: 0 }, 5);
    assert.deepEqual(sizes, [8, 4, 2, 1, 1, 1]);
    const step = decide(input({ policy: auto(0.9, 0.65), nodes: 8 }));
    assert.equal(step.missRate, 0);
    assert.match(step.reason, /^no look-ups \(idle, miss rate 0\.0%\) below 65\.0%: shrink 8 → 4$/);
  });

  it('keeps the size when no statistics arrived: that is not an idle pool', () => {
    const blind = decide(input({ policy: auto(0.9, 0.65), nodes: 8, window: { reported: false, lookups: 0, misses: 0 } }));
    assert.equal(blind.target, 8);
    assert.match(blind.reason, /^no node statistics arrived in the last window \(the manager publishes them\): keep 8 nodes$/);
    const idle = decide(input({ policy: auto(0.9, 0.65), nodes: 8, window: { reported: true, lookups: 0, misses: 0 } }));
    assert.equal(idle.target, 4, 'nodes that reported zeros are idle');
  });

  it('keeps the size while the miss rate stays in the band', () => {
    const sizes = simulate(auto(0.85, 0.15), 3, { lookups: 1000, misses: 503 }, 3);
    assert.deepEqual(sizes, [3, 3, 3, 3]);
    assert.match(decide(input({ policy: auto(0.85, 0.15), nodes: 3, window: { lookups: 1000, misses: 503 } })).reason, /50\.3% within 15\.0%–85\.0%/);
  });
});

describe('scaler decision rules', () => {
  const high = { lookups: 10, misses: 10 };
  it('clamps to the node bounds', () => {
    assert.equal(decide(input({ nodes: 3, maxNodes: 5, window: high })).target, 5);
    assert.equal(decide(input({ nodes: 3, minNodes: 2 })).target, 2);
  });

  it('rounds up when growing and down when shrinking', () => {
    assert.equal(decide(input({ policy: auto(0.8, 0.2, 1.5), nodes: 3, window: high })).target, 5);
    assert.equal(decide(input({ policy: auto(0.8, 0.2, 2, 0.5), nodes: 3 })).target, 1);
    // 10 × 1.1 is 11.000000000000002 in floating point, still 11 nodes.
    assert.equal(decide(input({ policy: auto(0.8, 0.2, 1.1), nodes: 10, maxNodes: 20, window: high })).target, 11);
  });

  it('waits for a full window after a resize', () => {
    const d = decide(input({ nodes: 2, window: high, fullWindow: false }));
    assert.equal(d.target, 2);
    assert.match(d.reason, /full window/);
  });

  it('makes no decision in manual mode', () => {
    const d = decide(input({ policy: { ...auto(0.2, 0.1), mode: 'manual' }, nodes: 2, window: high }));
    assert.deepEqual(d, { target: 2, reason: 'manual mode', missRate: 1 });
  });
});

describe('policy changes', () => {
  it('merges the given fields into the current policy', () => {
    const policy = parsed(parsePolicyChange({ mode: 'auto', expRatio: '3' }, defaults));
    assert.deepEqual(policy, { ...defaults, mode: 'auto', expandRatio: 3 });
    assert.deepEqual(parsed(parsePolicyChange({ maxMiss: '', mode: undefined }, defaults)), defaults);
  });

  it('accepts fractions, percentages and percent signs', () => {
    for (const maxMiss of [0.9, '0.9', 90, '90', '90%', ' 90 % ']) {
      assert.equal(parsed(parsePolicyChange({ maxMiss }, defaults)).maxMissRate, 0.9, String(maxMiss));
    }
    assert.equal(parsed(parsePolicyChange({ minMiss: 20, maxMiss: '0.5' }, defaults)).minMissRate, 0.2);
    assert.equal(parsed(parsePolicyChange({ minMiss: '0.5%' }, defaults)).minMissRate, 0.005);
  });

  it('rejects rates outside (0, 1) and garbage, naming field and value', () => {
    for (const value of [0, -0.1, 1, '100%', 150, '0%', 'abc', '0x10', 'NaN', '1e', Infinity]) {
      const [error, ...rest] = rejected(parsePolicyChange({ maxMiss: value }, defaults));
      assert.equal(rest.length, 0, String(value));
      assert.match(error!, /maxMiss/);
      assert.ok(error!.includes(typeof value === 'string' ? JSON.stringify(value) : String(value)), error);
    }
  });

  it('requires min below max, after merging', () => {
    const [error] = rejected(parsePolicyChange({ minMiss: '30%', maxMiss: '20%' }, defaults));
    assert.match(error!, /minMiss.*below.*maxMiss.*30\.0%.*20\.0%/);
    rejected(parsePolicyChange({ minMiss: 0.8 }, defaults));
    rejected(parsePolicyChange({ maxMiss: 0.1 }, defaults));
  });

  it('requires an expand ratio above 1 and a shrink ratio between 0 and 1', () => {
    for (const expRatio of [1, 0.5, '-2', 11, 'two']) assert.match(rejected(parsePolicyChange({ expRatio }, defaults))[0]!, /expRatio/);
    for (const shrinkRatio of [1, 0, 1.5, '-0.5', 'half']) {
      assert.match(rejected(parsePolicyChange({ shrinkRatio }, defaults))[0]!, /shrinkRatio/);
    }
    assert.deepEqual(parsed(parsePolicyChange({ expRatio: 1.5, shrinkRatio: '0.25' }, defaults)), { ...defaults, expandRatio: 1.5, shrinkRatio: 0.25 });
  });

  it('rejects an unknown mode and reports every bad field at once', () => {
    assert.equal(parsed(parsePolicyChange({ mode: 'AUTO' }, defaults)).mode, 'auto');
    const errors = rejected(parsePolicyChange({ mode: 'sometimes', expRatio: 'x', shrinkRatio: 2 }, defaults));
    assert.equal(errors.length, 3);
    assert.match(errors[0]!, /mode.*"manual" or "auto".*"sometimes"/);
  });
});
