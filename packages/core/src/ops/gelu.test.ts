import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '../testing/index.js';
import { DTypeError, ShapeError } from '../errors.js';
import { backendsPreferring, prefers } from '../settings.js';
import { channelLayerNorm, gelu, geluOfHalved, leakyRelu, prelu } from './basic.js';
import { dgelu64, erf64, gelu64 } from './float64-reference.js';

describe(`gelu (${backendsPreferring('scalarErf').join(', ')}: relu − ½|x|·erfc from element-wise ops for spread-out x; elsewhere tf.erf)`, () => {
  it('matches float64 GELU to 1e-6 absolute on [−10, 10] (and is exactly 0 at 0)', () =>
    expectNoLeaks(async () => {
      const x = tf.linspace(-10, 10, 20001);
      const y = gelu(x);
      const xs = await x.data();
      const ys = await y.data();
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(ys[i]! - gelu64(xs[i]!)));
      expect(worst).toBeLessThan(1e-6);
      const zero = tf.zeros([3]);
      const g0 = gelu(zero);
      expect(Array.from(await g0.data())).toEqual([0, 0, 0]);
      tf.dispose([x, y, zero, g0]);
    }));

  it('matches float64 GELU to 3e-7 absolute on small inputs [−1.5, 1.5] (the tf.erf form on every backend)', () =>
    expectNoLeaks(async () => {
      const x = tf.linspace(-1.5, 1.5, 30001);
      const y = gelu(x);
      const xs = await x.data();
      const ys = await y.data();
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(ys[i]! - gelu64(xs[i]!)));
      expect(worst).toBeLessThan(3e-7); // cpu's Erf is A–S 7.1.26 itself: 2.1e-7
      tf.dispose([x, y]);
    }));

  it('a few wide values among many small ones (≤ 2 %) and the reverse give the same GELU within 1e-6', () =>
    expectNoLeaks(async () => {
      // 1 % and 50 % of the values at ±3: the two sides of the wasm switch between forms.
      for (const share of [0.01, 0.5]) {
        const n = 5000;
        const vals = Array.from({ length: n }, (_, i) => (i % Math.round(1 / share) === 0 ? (i % 2 ? 3 : -3) : ((i * 7919) % 2001) / 1000 - 1));
        const x = tf.tensor1d(vals);
        const y = gelu(x);
        const ys = await y.data();
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(ys[i]! - gelu64(vals[i]!)));
        expect(worst, `share ${share}`).toBeLessThan(1e-6);
        tf.dispose([x, y]);
      }
    }));

  it('keeps relative precision for large |x| (gelu(x) = x for x ≫ 0, tiny negative values for x ≪ 0)', () =>
    expectNoLeaks(async () => {
      const x = tf.tensor1d([4, 8, 30, 1e4, -4, -6]);
      const yt = gelu(x);
      const y = await yt.data();
      for (const [i, v] of [4, 8, 30, 1e4].entries()) expect(Math.abs(y[i]! - gelu64(v)) / gelu64(v)).toBeLessThan(2e-7);
      expect(Math.abs(y[4]! - gelu64(-4))).toBeLessThan(1e-7); // −1.27e-4
      expect(Math.abs(y[5]! - gelu64(-6))).toBeLessThan(1e-7); // −5.9e-9
      tf.dispose([x, yt]);
    }));

  it('has the exact gradient Φ(x) + x·φ(x)', () =>
    expectNoLeaks(async () => {
      const x = tf.linspace(-7, 7, 1401);
      const g = tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x);
      const xs = await x.data();
      const gs = await g.data();
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(gs[i]! - dgelu64(xs[i]!)));
      expect(worst).toBeLessThan(2e-6);
      tf.dispose([x, g]);
    }));

  it('keeps the input shape and frees its intermediates', () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([2, 3, 4, 5], 0, 2, 'float32', 1);
      const y = gelu(x);
      expect(y.shape).toEqual([2, 3, 4, 5]);
      tf.dispose([x, y]);
    }));
});

describe('channelLayerNorm', () => {
  it('WithBias and BiasFree match a float64 reference (biased variance, eps 1e-5)', () =>
    expectNoLeaks(async () => {
      const [n, c] = [7, 6];
      const x = tf.randomNormal([1, 1, n, c], 0.5, 2, 'float32', 3);
      const w = tf.randomNormal([c], 1, 0.3, 'float32', 4);
      const b = tf.randomNormal([c], 0, 0.3, 'float32', 5);
      const [xs, ws, bs] = await Promise.all([x.data(), w.data(), b.data()]);
      for (const bias of [b, null]) {
        const yt = channelLayerNorm(x, w, bias);
        const y = await yt.data();
        yt.dispose();
        for (let p = 0; p < n; p++) {
          const row = Array.from(xs.subarray(p * c, (p + 1) * c));
          const mu = row.reduce((s, v) => s + v, 0) / c;
          const v = row.reduce((s, e) => s + (e - mu) ** 2, 0) / c;
          for (let j = 0; j < c; j++) {
            const want = ((bias ? row[j]! - mu : row[j]!) / Math.sqrt(v + 1e-5)) * ws[j]! + (bias ? bs[j]! : 0);
            expect(Math.abs(y[p * c + j]! - want)).toBeLessThan(2e-6 * (1 + Math.abs(want)));
          }
        }
      }
      tf.dispose([x, w, b]);
    }));
});

const halved64 = (h: number) => h * (1 + erf64(h));
const dHalved64 = (h: number) => 1 + erf64(h) + (2 / Math.sqrt(Math.PI)) * h * Math.exp(-h * h);

describe('geluOfHalved: h·(1 + erf(h)) = √2·gelu(√2·h), for blocks that fold the two factors into their weights', () => {
  it('matches float64 to 1.5e-6·(1 + |H|) on [−8, 8] (wasm: the erf-free form) and to 5e-7 on [−1, 1] (tf.erf everywhere)', () =>
    expectNoLeaks(async () => {
      for (const [lo, hi, n, tol] of [
        [-8, 8, 16001, 1.5e-6],
        [-1, 1, 20001, 5e-7],
      ] as const) {
        const h = tf.linspace(lo, hi, n);
        const y = geluOfHalved(h);
        const [hs, ys] = [await h.data(), await y.data()];
        let worst = 0;
        for (let i = 0; i < hs.length; i++) worst = Math.max(worst, Math.abs(ys[i]! - halved64(hs[i]!)) / (1 + Math.abs(halved64(hs[i]!))));
        expect(worst, `[${lo}, ${hi}]`).toBeLessThan(tol);
        tf.dispose([h, y]);
      }
      // the same as √2·gelu(√2·h) where gelu takes either form
      const h = tf.tensor1d([-3, -1.2, -0.3, 0, 0.4, 1.3, 2.9, 6]);
      const a = geluOfHalved(h);
      const b = tf.tidy(() => tf.mul(gelu(tf.mul(h, Math.SQRT2)), Math.SQRT2));
      const [u, v] = [await a.data(), await b.data()];
      for (let i = 0; i < u.length; i++) expect(Math.abs(u[i]! - v[i]!)).toBeLessThan(2e-6 * (1 + Math.abs(v[i]!)));
      tf.dispose([h, a, b]);
    }));

  it('has the exact gradient 1 + erf(h) + (2/√π)·h·e^(−h²)', () =>
    expectNoLeaks(async () => {
      const h = tf.linspace(-5, 5, 1001);
      const g = tf.grad((t: tf.Tensor) => tf.sum(geluOfHalved(t)))(h);
      const [hs, gs] = [await h.data(), await g.data()];
      let worst = 0;
      for (let i = 0; i < hs.length; i++) worst = Math.max(worst, Math.abs(gs[i]! - dHalved64(hs[i]!)));
      expect(worst).toBeLessThan(3e-6);
      tf.dispose([h, g]);
    }));
});

describe('leakyRelu (PReLU with a scalar slope where core prefers it: wasm)', () => {
  it('equals tf.leakyRelu exactly, value and gradient', () =>
    expectNoLeaks(async () => {
      const x = tf.tensor1d([-3, -0.5, -1e-30, 0, 1e-30, 0.25, 7]);
      for (const slope of [0.2, 0.01, 0]) {
        const a = leakyRelu(x, slope);
        const b = tf.leakyRelu(x, slope);
        const plus0 = (v: number) => v + 0; // −0 (leakyRelu's slope·x at slope 0) and +0 are the same number
        expect(Array.from(await a.data(), plus0)).toEqual(Array.from(await b.data(), plus0));
        const ga = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(leakyRelu(t, slope), tf.range(1, 8))))(x);
        const gb = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, slope), tf.range(1, 8))))(x);
        expect(Array.from(await ga.data(), plus0)).toEqual(Array.from(await gb.data(), plus0));
        tf.dispose([a, b, ga, gb]);
      }
      x.dispose();
    }));
});

describe('prelu (a shared slope broadcast per channel where core prefers it: wasm)', () => {
  const ref = (xs: Float32Array, alpha: Float32Array, c: number) => Array.from(xs, (v, i) => (v > 0 ? v : alpha[alpha.length === 1 ? 0 : i % c]! * v));
  it('equals x > 0 ? x : α·x for a shared and a per-channel slope, with the gradients of x and α against float64 sums', () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 7) as tf.Tensor4D;
      const w = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 8);
      const [xs, ws] = [(await x.data()) as Float32Array, (await w.data()) as Float32Array];
      for (const alpha of [tf.tensor1d([0.25]), tf.tensor1d([0.1, -0.2, 0.3, 0.05, 2])]) {
        const as = (await alpha.data()) as Float32Array;
        const y = prelu(x, alpha);
        expect(y.shape).toEqual(x.shape);
        const yv = await y.data();
        const want = ref(xs, as, 5);
        for (let i = 0; i < want.length; i++) expect(yv[i]).toBeCloseTo(want[i]!, 6);
        const [gx, ga] = tf.grads((t: tf.Tensor, a: tf.Tensor) => tf.sum(tf.mul(prelu(t, a), w)))([x, alpha]);
        expect(ga!.shape).toEqual(alpha.shape);
        const gxv = await gx!.data();
        const gaWant = new Float64Array(as.length);
        for (let i = 0; i < xs.length; i++) {
          const k = as.length === 1 ? 0 : i % 5;
          expect(gxv[i]).toBeCloseTo(xs[i]! > 0 ? ws[i]! : as[k]! * ws[i]!, 6);
          if (xs[i]! <= 0) gaWant[k] += ws[i]! * xs[i]!;
        }
        const gav = await ga!.data();
        for (let k = 0; k < as.length; k++) expect(Math.abs(gav[k]! - gaWant[k]!)).toBeLessThan(1e-4);
        tf.dispose([alpha, y, gx!, ga!]);
      }
      tf.dispose([x, w]);
    }));

  it("runs tfjs's PReLU with one slope per channel where core prefers it (wasm: XNNPACK takes α's size as the channel count)", () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([1, 4, 4, 6]);
      const alpha = tf.scalar(0.2);
      const seen: number[][] = [];
      const info = await tf.profile(() => prelu(x, alpha));
      for (const k of info.kernels) if (k.name === 'Prelu') seen.push(k.inputShapes[1] as number[]);
      expect(seen).toEqual([prefers('channelPrelu') ? [6] : []]);
      tf.dispose([x, alpha, info.result as tf.Tensor]);
    }));

  it('names a slope of the wrong size and a non-float input (typed, nothing leaked)', () =>
    expectNoLeaks(async () => {
      const x = tf.zeros([1, 2, 2, 5]);
      const a3 = tf.ones([3]);
      const xi = tf.zeros([1, 2, 2, 5], 'int32');
      const a1 = tf.scalar(0.1);
      expect(() => prelu(x, a3)).toThrow(ShapeError);
      expect(() => prelu(x, a3)).toThrow(/1 value or one per channel \(5\), got shape \[3\]/);
      expect(() => prelu(xi, a1)).toThrow(DTypeError);
      tf.dispose([x, a3, xi, a1]);
    }));
});
