import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideWorkers, parseWorkerPolicyChange, type DecideWorkersInput, type WorkerPolicy } from '../src/scaling/worker-policy.js';

const defaults: WorkerPolicy = { mode: 'manual', growCpu: 0.7, shrinkCpu: 0.2, growRatio: 1.5, shrinkRatio: 0.5, cooldownS: 300 };
const auto: WorkerPolicy = { ...defaults, mode: 'auto' };

/** A decision on a window the workers reported in, long after the last resize, unless it says otherwise. */
function input({ cpu = 0.5, reported = true, ...overrides }: Partial<Omit<DecideWorkersInput, 'window'>> & { cpu?: number; reported?: boolean }): DecideWorkersInput {
  return { policy: auto, workers: 2, minWorkers: 1, maxWorkers: 8, window: { reported, cpu }, windowMs: 120_000, msSinceResize: undefined, ...overrides };
}

/** Decides again and again under the same load, each step past the cool-down; the sizes it goes through. */
function simulate(start: number, cpu: number, steps: number, policy = auto): number[] {
  const sizes = [start];
  for (let i = 0; i < steps; i++) sizes.push(decideWorkers(input({ policy, workers: sizes.at(-1)!, cpu, msSinceResize: 3_600_000 })).target);
  return sizes;
}

function parsed(result: ReturnType<typeof parseWorkerPolicyChange>): WorkerPolicy {
  assert.ok('policy' in result, `expected a policy, got ${JSON.stringify(result)}`);
  return result.policy;
}

function rejected(result: ReturnType<typeof parseWorkerPolicyChange>): string[] {
  assert.ok('errors' in result, `expected errors, got ${JSON.stringify(result)}`);
  return result.errors;
}

describe('worker decisions', () => {
  it('grows above the grow threshold by the grow ratio, rounding up, to the maximum', () => {
    const step = decideWorkers(input({ workers: 2, cpu: 0.93 }));
    assert.deepEqual(step, { target: 3, cpu: 0.93, reason: 'average CPU 93.0% over the last 2 min above 70.0%: grow 2 → 3' });
    assert.deepEqual(simulate(1, 0.95, 7), [1, 2, 3, 5, 8, 8, 8, 8]);
    const full = decideWorkers(input({ workers: 8, cpu: 0.95 }));
    assert.equal(full.target, 8);
    assert.match(full.reason, /above 70\.0%: already at the maximum of 8 workers$/);
  });

  it('shrinks below the shrink threshold by the shrink ratio, rounding down, to the minimum', () => {
    const step = decideWorkers(input({ workers: 5, cpu: 0.05 }));
    assert.deepEqual(step, { target: 2, cpu: 0.05, reason: 'average CPU 5.0% over the last 2 min below 20.0%: shrink 5 → 2' });
    assert.deepEqual(simulate(8, 0, 5), [8, 4, 2, 1, 1, 1]);
    assert.match(decideWorkers(input({ workers: 1, cpu: 0 })).reason, /already at the minimum of 1 worker$/);
  });

  it('holds inside the band, thresholds included', () => {
    for (const cpu of [0.2, 0.45, 0.7]) {
      const decision = decideWorkers(input({ workers: 3, cpu }));
      assert.equal(decision.target, 3);
      assert.match(decision.reason, /within 20\.0%–70\.0%: keep 3 workers$/);
    }
  });

  it('holds during the cool-down after the last resize and says how long remains', () => {
    const cooling = decideWorkers(input({ workers: 2, cpu: 0.99, msSinceResize: 50_000 }));
    assert.equal(cooling.target, 2);
    assert.equal(cooling.reason, 'cooling down after the last resize of the web pool: 4 min 10 s of 5 min left; keep 2 workers');
    const short = decideWorkers(input({ policy: { ...auto, cooldownS: 60 }, workers: 2, cpu: 0.99, msSinceResize: 59_500 }));
    assert.match(short.reason, /1 s of 1 min left/);
    assert.equal(decideWorkers(input({ workers: 2, cpu: 0.99, msSinceResize: 300_000 })).target, 3, 'the cool-down is over at its end');
    assert.equal(decideWorkers(input({ policy: { ...auto, cooldownS: 0 }, workers: 2, cpu: 0.99, msSinceResize: 0 })).target, 3);
  });

  it('holds when no worker reported: missing statistics are not an idle pool', () => {
    const decision = decideWorkers(input({ workers: 4, reported: false, cpu: 0 }));
    assert.deepEqual(decision, { target: 4, cpu: 0, reason: 'no worker reported its CPU in the last 2 min: keep 4 workers' });
  });

  it('brings a pool outside its bounds back into them', () => {
    assert.equal(decideWorkers(input({ workers: 10, cpu: 0.9 })).target, 8);
    assert.equal(decideWorkers(input({ workers: 3, cpu: 0.1, minWorkers: 3 })).target, 3);
    assert.equal(decideWorkers(input({ workers: 2, cpu: 0.99, maxWorkers: 4, policy: { ...auto, growRatio: 10 } })).target, 4);
  });

  it('does not add or remove a worker for floating-point noise', () => {
    // 10 × 1.1 is 11.000000000000002 in binary floating point.
    assert.equal(decideWorkers(input({ workers: 10, maxWorkers: 20, cpu: 0.9, policy: { ...auto, growRatio: 1.1 } })).target, 11);
    // 100 × 0.29 is 28.999999999999996, which floor alone would take to 28.
    assert.equal(decideWorkers(input({ workers: 100, maxWorkers: 200, cpu: 0.01, policy: { ...auto, shrinkRatio: 0.29 } })).target, 29);
  });

  it('decides nothing in manual mode', () => {
    assert.deepEqual(decideWorkers(input({ policy: defaults, workers: 2, cpu: 1 })), { target: 2, cpu: 1, reason: 'manual mode' });
  });
});

describe('worker policy changes', () => {
  it('merges the given fields, leaving blank ones as they are', () => {
    assert.deepEqual(parsed(parseWorkerPolicyChange({ mode: ' AUTO ', growRatio: '2', cooldownS: '120', shrinkCpu: '' }, defaults)), {
      ...defaults,
      mode: 'auto',
      growRatio: 2,
      cooldownS: 120,
    });
    assert.deepEqual(parsed(parseWorkerPolicyChange({}, defaults)), defaults);
  });

  it('reads thresholds as fractions, percentages or percentages with their sign', () => {
    for (const [growCpu, shrinkCpu] of [[0.8, 0.1], ['80', '10'], ['80%', '10 %'], [80, 10]] as const) {
      const policy = parsed(parseWorkerPolicyChange({ growCpu, shrinkCpu }, defaults));
      assert.deepEqual([policy.growCpu, policy.shrinkCpu], [0.8, 0.1], `${growCpu}/${shrinkCpu}`);
    }
  });

  it('requires the grow threshold above the shrink threshold, after merging', () => {
    const [error] = rejected(parseWorkerPolicyChange({ shrinkCpu: 0.7 }, defaults));
    assert.equal(error, 'Shrink below CPU (shrinkCpu) must be below grow above CPU (growCpu), but 70.0% is not below 70.0%.');
    assert.equal(rejected(parseWorkerPolicyChange({ growCpu: '15%' }, defaults)).length, 1);
    assert.equal(parsed(parseWorkerPolicyChange({ growCpu: '15%', shrinkCpu: '5%' }, defaults)).growCpu, 0.15);
  });

  it('rejects thresholds outside (0, 1) and garbage, naming the field and the value', () => {
    for (const growCpu of [0, 1, '100', -0.5, 'lots', '0x10', Number.NaN, 101]) {
      const errors = rejected(parseWorkerPolicyChange({ growCpu }, defaults));
      assert.equal(errors.length, 1, String(growCpu));
      assert.match(errors[0]!, /^Grow above CPU \(growCpu\) must be a fraction between 0 and 1 or a percentage between 0 and 100 \(exclusive\), not /);
    }
    assert.match(rejected(parseWorkerPolicyChange({ shrinkCpu: 'none' }, defaults))[0]!, /shrinkCpu.*not "none"\.$/);
  });

  it('requires a grow ratio above 1 and at most 10, and a shrink ratio between 0 and 1', () => {
    for (const growRatio of [1, 0.5, 10.5, 'x']) {
      assert.match(rejected(parseWorkerPolicyChange({ growRatio }, defaults))[0]!, /^Grow ratio \(growRatio\) must be a number above 1 and at most 10, not /);
    }
    assert.equal(parsed(parseWorkerPolicyChange({ growRatio: 10 }, defaults)).growRatio, 10);
    for (const shrinkRatio of [0, 1, 1.5, '-0.2']) {
      assert.match(rejected(parseWorkerPolicyChange({ shrinkRatio }, defaults))[0]!, /^Shrink ratio \(shrinkRatio\) must be a number between 0 and 1 \(exclusive\), not /);
    }
  });

  it('requires a cool-down of whole seconds from 0 to a day', () => {
    assert.equal(parsed(parseWorkerPolicyChange({ cooldownS: '0' }, defaults)).cooldownS, 0);
    assert.equal(parsed(parseWorkerPolicyChange({ cooldownS: 86_400 }, defaults)).cooldownS, 86_400);
    for (const cooldownS of [-1, 1.5, '5m', 86_401, '1e9']) {
      assert.deepEqual(rejected(parseWorkerPolicyChange({ cooldownS }, defaults)), [
        `Cool-down (cooldownS) must be a whole number of seconds from 0 to 86400, not ${typeof cooldownS === 'string' ? `"${cooldownS}"` : cooldownS}.`,
      ]);
    }
  });

  it('reports every bad field at once', () => {
    const errors = rejected(parseWorkerPolicyChange({ mode: 'sometimes', growCpu: 'hot', growRatio: 0, shrinkRatio: 2, cooldownS: -5 }, defaults));
    assert.equal(errors.length, 5);
    assert.equal(errors[0], 'Mode (mode) must be "manual" or "auto", not "sometimes".');
  });
});
