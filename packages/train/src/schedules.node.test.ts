import { describe, expect, it } from 'vitest';
import { ConfigError } from '@restorekit/core';
import { constantLR, cosineAnnealingRestartCyclicLR, cosineAnnealingRestartLR, warmupCosine, type Schedule } from './schedules.js';

/**
 * Expected values are BasicSR's formulas (basicsr/models/lr_scheduler.py, Restormer's fork for the cyclic one),
 * evaluated in Python floats at each step:
 *   idx = first i with step <= cumsum(periods)[i]; start = cumsum[idx-1] (0 for idx 0)
 *   lr = eta_min[idx] + restart_weights[idx] * 0.5 * (base_lr - eta_min[idx]) * (1 + cos(pi * (step - start) / periods[idx]))
 */
function expectValues(s: Schedule, want: Record<number, number>) {
  for (const [step, v] of Object.entries(want)) {
    const got = s(Number(step));
    expect(Math.abs(got - v), `step ${step}: got ${got}, want ${v}`).toBeLessThanOrEqual(1e-12 * Math.abs(v) + 1e-18);
  }
}

describe('CosineAnnealingRestartCyclicLR (Restormer)', () => {
  it("Restormer's recipe: constant 3e-4 for 92k iterations (boundary included), then cosine to 1e-6 at 300k", () => {
    const s = cosineAnnealingRestartCyclicLR({ lr: 3e-4, periods: [92000, 208000], restartWeights: [1, 1], etaMins: [3e-4, 1e-6] });
    expectValues(s, {
      0: 3e-4,
      46000: 3e-4,
      92000: 3e-4,
      // 1e-6 + 0.5·(3e-4 − 1e-6)·(1 + cos(π/208000))
      92001: 0.00029999999998294764,
      // half-way through the second cycle: 1e-6 + 0.5·2.99e-4
      196000: 0.00015049999999999997,
      299999: 1.0000000170523493e-6,
      300000: 1e-6,
    });
    expect(() => s(300001)).toThrow(/step 300001 is past the last period \(the periods sum to 300000\)/);
  });

  it('restart weights and per-cycle floors, at and around the period boundaries', () => {
    const s = cosineAnnealingRestartCyclicLR({ lr: 1, periods: [10, 20], restartWeights: [1, 0.5], etaMins: [0.1, 0.01] });
    expectValues(s, {
      0: 1,
      5: 0.55,
      9: 0.12202456766718092,
      10: 0.1, // the boundary ends cycle 0 at its floor
      11: 0.5019528642972966, // 0.01 + 0.5·0.5·0.99·(1 + cos(π/20))
      20: 0.2575,
      29: 0.01304713570270343,
      30: 0.01,
    });
  });

  it('lists of different lengths are a ConfigError, as BasicSR asserts', () => {
    expect(() => cosineAnnealingRestartCyclicLR({ lr: 1, periods: [10, 20], restartWeights: [1], etaMins: [0, 0] })).toThrow(ConfigError);
    expect(() => cosineAnnealingRestartCyclicLR({ lr: 1, periods: [10, 20], restartWeights: [1, 1] })).toThrow(/same length \(2, 2 and 1\)/);
    expect(() => cosineAnnealingRestartCyclicLR({ lr: 1, periods: [10, 0] })).toThrow(/periods/);
    expect(() => cosineAnnealingRestartCyclicLR({ lr: 1, periods: [10], eta_mins: [0] } as never)).toThrow(/did you mean 'etaMins'/);
  });
});

describe('CosineAnnealingRestartLR (BasicSR)', () => {
  it('one floor, restart weights 1, 0.5, 0.25', () => {
    const s = cosineAnnealingRestartLR({ lr: 2e-4, periods: [10, 10, 10], restartWeights: [1, 0.5, 0.25], etaMin: 1e-7 });
    expectValues(s, {
      0: 2e-4,
      3: 0.0001587991359666327,
      10: 1e-7,
      11: 9.760404940185031e-5,
      15: 5.0075000000000004e-5,
      20: 1e-7,
      21: 4.8852024700925156e-5,
      30: 1e-7,
    });
    expect(() => s(31)).toThrow(ConfigError);
    expect(() => s(-1)).toThrow(/step must be an integer ≥ 0/);
    expect(() => s(1.5)).toThrow(ConfigError);
  });

  it("BasicSR warm-up (warmup_iter 5): lr·current_iter/5 while current_iter = step + 1 < 5, then the schedule's own value", () => {
    const s = cosineAnnealingRestartLR({ lr: 2e-4, periods: [10, 10, 10], restartWeights: [1, 0.5, 0.25], etaMin: 1e-7, warmupIter: 5 });
    expectValues(s, { 0: 4e-5, 1: 8e-5, 3: 0.00016, 4: 0.000130936248587776, 5: 0.00010005 });
  });
});

describe('warmupCosine', () => {
  it('linear warm-up from 0 over 4 steps, cosine to 0.001 at step 20, flat after', () => {
    const s = warmupCosine({ lr: 0.1, warmupSteps: 4, totalSteps: 20, etaMin: 0.001 });
    expectValues(s, { 0: 0, 1: 0.025, 3: 0.07500000000000001, 4: 0.1, 8: 0.0855017856687341, 12: 0.0505, 19: 0.0019511286200400938, 20: 0.001, 25: 0.001 });
    expect(() => warmupCosine({ lr: 0.1, warmupSteps: 20, totalSteps: 20 })).toThrow(/warmupSteps \(20\) must be smaller than totalSteps \(20\)/);
  });

  it('constantLR is constant and validates', () => {
    expect([0, 1, 1000].map(constantLR(0.5))).toEqual([0.5, 0.5, 0.5]);
    expect(() => constantLR(-1)).toThrow(ConfigError);
  });
});
