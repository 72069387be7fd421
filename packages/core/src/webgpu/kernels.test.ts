import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '../testing/index.js';
import { withSettings } from '../settings.js';
import { DTypeError, ShapeError } from '../errors.js';
import { channelLayerNorm, dotLastAxis, softmax } from '../ops/basic.js';
import { LAYER_NORM_KERNEL } from '../wasm/kernels.js';
import { WEBGPU_LAYER_NORM_GRAD_KERNEL, WEBGPU_ROW_DOT_KERNEL, WEBGPU_SOFTMAX_GRAD_KERNEL, WEBGPU_SOFTMAX_KERNEL } from './kernels.js';

const onWebGpu = () => tf.getBackend() === 'webgpu';

/** Float64 layer norm of a row (biased variance); BiasFree does not centre the numerator. */
function layerNorm64(row: number[], w: ArrayLike<number>, b: ArrayLike<number> | null, eps = 1e-5): number[] {
  const c = row.length;
  const mu = row.reduce((s, v) => s + v, 0) / c;
  const inv = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / c + eps);
  return row.map((v, j) => (b ? (v - mu) * inv * w[j]! + b[j]! : v * inv * w[j]!));
}

/** ∂/∂row of Σ layerNorm64(row)·dy by central differences in float64 (an independent check of the written-out gradient). */
function layerNormGrad64(row: number[], w: ArrayLike<number>, b: ArrayLike<number> | null, dy: number[]): number[] {
  const f = (r: number[]) => layerNorm64(r, w, b).reduce((s, v, j) => s + v * dy[j]!, 0);
  const h = 1e-6;
  return row.map((_, j) => {
    const up = row.slice();
    const down = row.slice();
    up[j] = up[j]! + h;
    down[j] = down[j]! - h;
    return (f(up) - f(down)) / (2 * h);
  });
}

const softmax64 = (row: number[]) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
};

describe("restorekit's WebGPU row kernels (layer norm over channels, short-row softmax; the tfjs-op forms elsewhere)", () => {
  it('channelLayerNorm, WithBias and BiasFree: value and ∂x match float64 (∂x by central differences), ∂w, ∂b match the op form; one kernel each way on webgpu', () =>
    expectNoLeaks(async () => {
      for (const c of [1, 3, 8, 25, 48]) {
        const [p, shape] = [2 * 5 * 3, [2, 5, 3, c]];
        const x = tf.randomNormal(shape, 0.7, 2, 'float32', c);
        const w = tf.randomNormal([c], 1, 0.3, 'float32', c + 1);
        const b = tf.randomNormal([c], 0, 0.3, 'float32', c + 2);
        const dy = tf.randomNormal(shape, 0, 1, 'float32', c + 3);
        const [xs, ws, bs, dys] = await Promise.all([x.data(), w.data(), b.data(), dy.data()]);
        for (const bias of [b, null]) {
          const what = `C ${c}, ${bias ? 'WithBias' : 'BiasFree'}`;
          const args = bias ? [x, w, bias] : [x, w];
          const f = (...t: tf.Tensor[]) => tf.sum(tf.mul(channelLayerNorm(t[0]!, t[1]!, t[2] ?? null), dy));
          // (tf.profile reuses its result object: read each profile's kernels before the next one starts)
          const fwd = await tf.profile(() => channelLayerNorm(x, w, bias));
          const yt = fwd.result as tf.Tensor;
          // (customGrad's bookkeeping shows as Identity and unnamed entries)
          const fwdKernels = fwd.kernels.map((k) => k.name).filter((k) => k !== 'Identity' && k !== '');
          const bwd = await tf.profile(() => tf.grads(f)(args));
          // reductions over the channel axis (the last): Mean or Sum of [..., C] into [..., 1]
          const channelReductions = bwd.kernels.filter(
            (k) => (k.name === 'Mean' || k.name === 'Sum') && k.inputShapes[0]!.at(-1) === c && k.outputShapes[0]!.at(-1) === 1,
          ).length;
          const bwdKernels = bwd.kernels.map((k) => k.name);
          const grads = bwd.result as tf.Tensor[];
          const off = withSettings({ webgpuKernels: false }, () => [channelLayerNorm(x, w, bias), ...tf.grads(f)(args)]);
          // on webgpu the forward is one kernel (9 tfjs ops otherwise) and the backward has no channel reductions as ops
          if (onWebGpu()) expect(fwdKernels, what).toEqual([LAYER_NORM_KERNEL]);
          expect(bwdKernels.includes(WEBGPU_LAYER_NORM_GRAD_KERNEL), what).toBe(onWebGpu());
          if (onWebGpu() && c > 1) expect(channelReductions, what).toBe(0);
          if (!onWebGpu() && c > 1 && tf.getBackend() !== 'wasm') expect(channelReductions, what).toBeGreaterThan(0);
          const y = await yt.data();
          const dx = await grads[0]!.data();
          let worst = 0;
          let worstGrad = 0;
          for (let i = 0; i < p; i++) {
            const row = Array.from(xs.subarray(i * c, (i + 1) * c));
            const d = Array.from(dys.subarray(i * c, (i + 1) * c));
            const want = layerNorm64(row, ws, bias ? bs : null);
            const wantGrad = layerNormGrad64(row, ws, bias ? bs : null, d);
            for (let j = 0; j < c; j++) {
              worst = Math.max(worst, Math.abs(y[i * c + j]! - want[j]!) / (1 + Math.abs(want[j]!)));
              worstGrad = Math.max(worstGrad, Math.abs(dx[i * c + j]! - wantGrad[j]!) / (1 + Math.abs(wantGrad[j]!)));
            }
          }
          expect(worst, `${what}: value`).toBeLessThan(2e-6);
          expect(worstGrad, `${what}: ∂x`).toBeLessThan(c === 1 ? 2e-3 : 5e-5); // C = 1: x − μ = 0, inv = 1/√eps amplifies rounding
          const got = [yt, ...grads];
          for (let i = 1; i < got.length; i++) {
            const [u, v] = [await got[i]!.data(), await off[i]!.data()];
            for (let j = 0; j < u.length; j++) expect(Math.abs(u[j]! - v[j]!), `${what}, gradient ${i - 1}`).toBeLessThan(5e-5 * (1 + Math.abs(v[j]!)));
          }
          tf.dispose([...got, ...off]);
        }
        tf.dispose([x, w, b, dy]);
      }
    }));

  it('softmax over the last axis: value and gradient match float64 for rows of 1, 9, 25 and 64 (the kernel on webgpu) and 100 (tfjs there); −∞ entries give 0', () =>
    expectNoLeaks(async () => {
      for (const n of [1, 9, 25, 64, 100]) {
        const rows = 37;
        const what = `rows of ${n}`;
        const vals = Array.from({ length: rows * n }, (_, i) => Math.sin(i * 1.7) * 6 + (i % 3));
        if (n >= 9) for (let r = 0; r < rows; r += 4) vals[r * n + (r % n)] = -Infinity; // masked taps, as Restormer's fold
        const x = tf.tensor3d(vals, [rows, 1, n]);
        const g = tf.tensor3d(
          Array.from({ length: rows * n }, (_, i) => Math.cos(i * 0.3)),
          [rows, 1, n],
        );
        const run = await tf.profile(() => {
          const y = softmax(x);
          const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(softmax(t), g)))([x]);
          return [y, dx!];
        });
        const kernel = onWebGpu() && n <= 64;
        const names = run.kernels.map((k) => k.name);
        expect(names.includes(WEBGPU_SOFTMAX_KERNEL), what).toBe(kernel);
        expect(names.includes(WEBGPU_SOFTMAX_GRAD_KERNEL), what).toBe(kernel);
        expect(names.includes('Softmax'), what).toBe(!kernel);
        const [yt, dxt] = run.result as tf.Tensor[];
        const [y, dx, gs] = [await yt!.data(), await dxt!.data(), await g.data()];
        for (let r = 0; r < rows; r++) {
          const row = vals.slice(r * n, (r + 1) * n);
          const want = softmax64(row);
          const dot = want.reduce((s, v, j) => s + v * gs[r * n + j]!, 0);
          for (let j = 0; j < n; j++) {
            expect(Math.abs(y[r * n + j]! - want[j]!), `${what}, row ${r}`).toBeLessThan(2e-7);
            if (row[j] === -Infinity) expect(y[r * n + j], `${what}: a −∞ logit`).toBe(0);
            const wantDx = want[j]! * (gs[r * n + j]! - dot);
            expect(Math.abs(dx[r * n + j]! - wantDx), `${what}, row ${r}: gradient`).toBeLessThan(1e-6);
          }
        }
        tf.dispose([x, g, yt!, dxt!]);
      }
    }));

  it('dotLastAxis: Σ over the last axis of a·b and its gradients (dy·b, dy·a) match float64 for rows of 1, 9 and 25', () =>
    expectNoLeaks(async () => {
      for (const [shape, seed] of [
        [[6, 1], 1],
        [[4, 9], 2],
        [[2, 7, 3, 25], 3],
      ] as [number[], number][]) {
        const what = `shape [${shape}]`;
        const a = tf.randomNormal(shape, 0, 1, 'float32', seed);
        const b = tf.randomNormal(shape, 0.5, 2, 'float32', seed + 10);
        const dy = tf.randomNormal(shape.slice(0, -1), 0, 1, 'float32', seed + 20);
        const run = await tf.profile(() => {
          const y = dotLastAxis(a, b);
          const [da, db] = tf.grads((s: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(dotLastAxis(s, t), dy)))([a, b]);
          return [y, da!, db!];
        });
        expect(
          run.kernels.some((k) => k.name === WEBGPU_ROW_DOT_KERNEL),
          what,
        ).toBe(onWebGpu());
        const [yt, dat, dbt] = run.result as tf.Tensor[];
        expect(yt!.shape, what).toEqual(shape.slice(0, -1));
        const [as, bs, ds, y, da, db] = await Promise.all([a, b, dy, yt!, dat!, dbt!].map((t) => t.data()));
        const n = shape.at(-1)!;
        for (let r = 0; r < ds!.length; r++) {
          let want = 0;
          for (let j = 0; j < n; j++) want += as![r * n + j]! * bs![r * n + j]!;
          expect(Math.abs(y![r]! - want), `${what}, row ${r}`).toBeLessThan(1e-5 * (1 + Math.abs(want)));
          for (let j = 0; j < n; j++) {
            expect(Math.abs(da![r * n + j]! - ds![r]! * bs![r * n + j]!), `${what}: ∂a`).toBeLessThan(1e-6 * (1 + Math.abs(ds![r]! * bs![r * n + j]!)));
            expect(Math.abs(db![r * n + j]! - ds![r]! * as![r * n + j]!), `${what}: ∂b`).toBeLessThan(1e-6 * (1 + Math.abs(ds![r]! * as![r * n + j]!)));
          }
        }
        tf.dispose([a, b, dy, yt!, dat!, dbt!]);
      }
    }));

  it('rows past 65 535 workgroups of 64 (the backend spreads the dispatch over two dimensions) are all computed: softmax and layer norm of 4 194 500 rows', () =>
    expectNoLeaks(async () => {
      const rows = 65_535 * 64 + 260;
      const vals = new Float32Array(rows * 2);
      for (let r = 0; r < rows; r++) [vals[2 * r], vals[2 * r + 1]] = [(r % 7) * 0.5, ((r * 3) % 5) * 0.25];
      const x = tf.tensor2d(vals, [rows, 2]);
      const w = tf.tensor1d([1.5, -2]);
      const b = tf.tensor1d([0.25, 0.5]);
      const s = softmax(x);
      const l = channelLayerNorm(x, w, b);
      const [sv, lv] = [await s.data(), await l.data()];
      let worstS = 0;
      let worstL = 0;
      for (let r = 0; r < rows; r++) {
        const [a, c] = [vals[2 * r]!, vals[2 * r + 1]!];
        const p = 1 / (1 + Math.exp(c - a));
        worstS = Math.max(worstS, Math.abs(sv[2 * r]! - p), Math.abs(sv[2 * r + 1]! - (1 - p)));
        const want = layerNorm64([a, c], [1.5, -2], [0.25, 0.5]);
        worstL = Math.max(worstL, Math.abs(lv[2 * r]! - want[0]!) / (1 + Math.abs(want[0]!)), Math.abs(lv[2 * r + 1]! - want[1]!) / (1 + Math.abs(want[1]!)));
      }
      expect(worstS).toBeLessThan(1e-6);
      // a row of two equal values has x − μ = 0: both forms give b exactly, which the check covers
      expect(worstL).toBeLessThan(1e-5);
      tf.dispose([x, w, b, s, l]);
    }));

  it('softmax and dotLastAxis refuse scalars and mismatched shapes (ShapeError) and non-float32 tensors (DTypeError), naming the op, without leaks', () =>
    expectNoLeaks(() => {
      const s = tf.scalar(1);
      const i = tf.tensor1d([1, 2], 'int32');
      expect(() => softmax(s)).toThrow(ShapeError);
      expect(() => softmax(s)).toThrow(/softmax: the input must have at least one axis/);
      expect(() => softmax(i)).toThrow(DTypeError);
      expect(() => softmax(i)).toThrow(/softmax/);
      const [a, b] = [tf.zeros([2, 3]), tf.zeros([2, 4])];
      expect(() => dotLastAxis(a, b)).toThrow(ShapeError);
      expect(() => dotLastAxis(a, b)).toThrow(/dotLastAxis: the inputs must have one shape .* got \[2, 3\] and \[2, 4\]/);
      expect(() => dotLastAxis(s, s)).toThrow(ShapeError);
      expect(() => dotLastAxis(a, i)).toThrow(DTypeError);
      tf.dispose([s, i, a, b]);
    }));
});
