import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError } from '@restorekit/core';
import { Rng, detCos, detExp, detLog, detSin, logGamma } from './rng.js';

describe('Rng (xoshiro128**, splitmix32 seeding)', () => {
  it('reproduces the reference xoshiro128** outputs from the state [1, 2, 3, 4]', () => {
    const r = new Rng(0);
    r.setState({ s: [1, 2, 3, 4], spare: null });
    expect(Array.from({ length: 6 }, () => r.uint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds as the Python transcription of splitmix32 + xoshiro128** does (seeds 0, 42 and 2^40 + 7)', () => {
    // Values from a direct Python transcription of the algorithm (32-bit masks instead of Math.imul).
    const want: Record<number, number[]> = {
      0: [3809008728, 1133695204, 53579671, 2891528803, 139681546],
      42: [2837322924, 544945897, 479756282, 3500138142, 339756180],
      [2 ** 40 + 7]: [1606920336, 1856359683, 890391056, 323721861, 1453546004],
    };
    for (const [seed, values] of Object.entries(want)) {
      const r = new Rng(Number(seed));
      expect(Array.from({ length: 5 }, () => r.uint32())).toEqual(values);
    }
    expect(new Rng(42).float()).toBe(0.6606157208001621);
  });

  it('state round trip continues the same stream (normal deviates included: the spare is part of the state)', () => {
    const a = new Rng(7);
    for (let i = 0; i < 5; i++) a.normal(); // leaves a spare
    const state = JSON.parse(JSON.stringify(a.getState()));
    expect(state.spare).not.toBeNull();
    const b = new Rng(123);
    b.setState(state);
    const seq = (r: Rng) => [r.normal(), r.float(), r.int(10), r.poisson(4), r.poisson(60), r.uint32()];
    expect(seq(b)).toEqual(seq(a));
    expect(a.clone().uint32()).toBe(a.uint32());
    expect(() => b.setState({ s: [0, 0, 0, 0], spare: null })).toThrow(CheckpointError);
    expect(() => new Rng(-1)).toThrow(ConfigError);
  });

  it('distributions: uniform, unbiased integers, standard normal, Poisson means and variances', () => {
    const r = new Rng(2024);
    const n = 40000;
    const f = Array.from({ length: n }, () => r.float());
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...f)).toBeLessThan(1);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const variance = (a: number[]) => {
      const m = mean(a);
      return mean(a.map((x) => (x - m) ** 2));
    };
    expect(Math.abs(mean(f) - 0.5)).toBeLessThan(0.01);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < n; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.01);
    const g = Array.from({ length: n }, () => r.normal());
    expect(Math.abs(mean(g))).toBeLessThan(0.02);
    expect(Math.abs(variance(g) - 1)).toBeLessThan(0.03);
    for (const lambda of [0.5, 3, 9.5, 40, 500]) {
      const p = Array.from({ length: 20000 }, () => r.poisson(lambda));
      expect(p.every((k) => Number.isInteger(k) && k >= 0)).toBe(true);
      expect(Math.abs(mean(p) - lambda) / Math.sqrt(lambda)).toBeLessThan(0.05);
      expect(Math.abs(variance(p) / lambda - 1)).toBeLessThan(0.06);
    }
    const shuffled = r.shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...shuffled].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('deterministic math', () => {
  it('detLog, detExp, detCos, detSin agree with Math to a few ulp', () => {
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
    for (const x of [1e-310, 1e-300, 1e-10, 0.01, 0.5, 0.999, 1, 1.0001, Math.SQRT2, 2, 3.7, 10, 1e5, 1e300])
      expect(Math.abs(detLog(x) - Math.log(x))).toBeLessThan(4e-16 * Math.max(1, Math.abs(Math.log(x))));
    expect(detLog(0)).toBe(-Infinity);
    expect(detLog(-1)).toBeNaN();
    for (const x of [-700, -50, -1, -1e-8, 0, 1e-8, 0.3, 1, 2.5, 10, 100, 700]) expect(rel(detExp(x), Math.exp(x))).toBeLessThan(1e-15);
    expect(detExp(-800)).toBe(0);
    for (const x of [-10, -3, -1.5, 0, 0.2, 0.785, 1.5707963267948966, 2, 3.1, 6, 12.5]) {
      expect(Math.abs(detCos(x) - Math.cos(x))).toBeLessThan(2e-15);
      expect(Math.abs(detSin(x) - Math.sin(x))).toBeLessThan(2e-15);
    }
    // log Γ(n) = log (n − 1)!
    for (const [x, f] of [
      [3, 2],
      [5, 24],
      [11, 3628800],
    ])
      expect(Math.abs(logGamma(x) - Math.log(f))).toBeLessThan(1e-12);
    expect(Math.abs(logGamma(0.5) - Math.log(Math.sqrt(Math.PI)))).toBeLessThan(1e-12);
  });
});
