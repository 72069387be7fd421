import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { countFlops } from '../flops.js';
import { expectNoLeaks } from '../testing/index.js';
import { relError } from './float64-reference.js';
import { withSettings } from '../settings.js';
import { PRODUCT_KERNEL, productKernel } from '../wasm/kernels.js';
import { conv2d } from './conv.js';
import { matMul } from './matmul.js';

const onWasm = () => tf.getBackend() === 'wasm';

/** a [m, k]·b [k, n] (+ bias [n]) in float64 on the host. */
function product64(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, bias?: ArrayLike<number>): Float64Array {
  const g = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      for (let r = 0; r < k; r++) s += a[i * k + r]! * b[r * n + j]!;
      g[i * n + j] = s;
    }
  return g;
}

/** xᵀ [k, m] of x [m, k] in float64. */
function transpose64(x: ArrayLike<number>, m: number, k: number): Float64Array {
  const t = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let r = 0; r < k; r++) t[r * m + i] = x[i * k + r]!;
  return t;
}

describe("plain products and 1×1 convs (wasm: restorekit's product kernel, the bias added as the sums are stored)", () => {
  // [m, k, n]: one tile (4×4), rows past a multiple of 4 (overlapping last row tile), columns of 8 + an overlapping 4,
  // columns below 8 (masked 4-wide tiles only), k of 1, at and across the kernel's 128-value blocks of k, and a 1×1 conv
  // of Restormer's shape (48 → 144 channels)
  const cases: [number, number, number][] = [
    [4, 1, 4],
    [5, 3, 6],
    [37, 19, 23],
    [64, 128, 13],
    [130, 300, 9],
    [9, 1021, 20],
    [256, 48, 144],
  ];
  for (const [m, k, n] of cases)
    for (const withBias of [false, true])
      it(`[${m}, ${k}]·[${k}, ${n}]${withBias ? ' + bias' : ''}: the float64 sums; on wasm one kernel, elsewhere null`, () =>
        expectNoLeaks(async () => {
          const a = tf.randomNormal([m, k], 0, 1, 'float32', m + k) as tf.Tensor2D;
          const b = tf.randomNormal([k, n], 0, 1, 'float32', k + n) as tf.Tensor2D;
          const bias = withBias ? (tf.randomNormal([n], 0, 1, 'float32', n) as tf.Tensor1D) : undefined;
          const prof = await tf.profile(() => productKernel(a, b, bias) ?? tf.zeros([1]));
          const y = prof.result as tf.Tensor;
          if (!onWasm()) expect(y.shape).toEqual([1]);
          else {
            expect(prof.kernelNames).toEqual([PRODUCT_KERNEL]);
            expect(y.shape).toEqual([m, n]);
            const want = product64(await a.data(), await b.data(), m, k, n, bias ? await bias.data() : undefined);
            expect(relError(await y.data(), want)).toBeLessThan(2e-6);
            // what was in the output's memory before does not matter: a second call gives the same values
            const again = productKernel(a, b, bias)!;
            expect(Array.from(await again.data())).toEqual(Array.from(await y.data()));
            again.dispose();
          }
          tf.dispose([a, b, y, ...(bias ? [bias] : [])]);
        }));

  it('declines what it does not compute (fewer than 4 rows or columns, k = 0, int32, mismatched shapes, kernels off)', () =>
    expectNoLeaks(() => {
      const t = (shape: number[], dtype: tf.DataType = 'float32') => tf.ones(shape as [number, number], dtype) as tf.Tensor2D;
      const ts = [t([3, 8]), t([8, 8]), t([8, 3]), t([8, 0]), t([0, 8]), t([8, 8], 'int32'), t([8, 5]), t([4, 4])];
      const [short, sq, narrow, noK, emptyB, ints, b5, b4] = ts as [
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
      ];
      const bias3 = tf.ones([3]) as tf.Tensor1D;
      expect(productKernel(short, sq)).toBeNull();
      expect(productKernel(sq, narrow)).toBeNull();
      expect(productKernel(noK, emptyB)).toBeNull();
      expect(productKernel(ints, sq)).toBeNull();
      expect(productKernel(b5, b4)).toBeNull(); // [8, 5]·[4, 4]: k differs
      expect(productKernel(sq, sq, bias3)).toBeNull(); // a bias of 3 for 8 columns
      const ok = productKernel(sq, sq);
      expect(ok === null).toBe(!onWasm());
      ok?.dispose();
      const off = withSettings({ wasmKernels: false }, () => productKernel(sq, sq));
      expect(off).toBeNull();
      tf.dispose([...ts, bias3]);
    }));

  it('a 1×1 conv with bias over [2, 5, 7, 12] → 20 channels: value and the gradients of x, w and the bias against float64', () =>
    expectNoLeaks(async () => {
      const [bt, h, w, c, d] = [2, 5, 7, 12, 20];
      const p = bt * h * w;
      const x = tf.randomNormal([bt, h, w, c], 0, 1, 'float32', 11) as tf.Tensor4D;
      const f = tf.randomNormal([1, 1, c, d], 0, 1, 'float32', 12) as tf.Tensor4D;
      const bias = tf.randomNormal([d], 0, 1, 'float32', 13) as tf.Tensor1D;
      const dy = tf.randomNormal([bt, h, w, d], 0, 1, 'float32', 14);
      const prof = await tf.profile(() => conv2d(x, f, { bias }));
      const y = prof.result as tf.Tensor;
      if (onWasm()) expect(prof.kernelNames).toContain(PRODUCT_KERNEL);
      const [xv, fv, bv, dyv] = (await Promise.all([x.data(), f.data(), bias.data(), dy.data()])) as Float32Array[];
      expect(relError(await y.data(), product64(xv!, fv!, p, c, d, bv))).toBeLessThan(2e-6);
      const [gx, gf, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) =>
        tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { bias: e as tf.Tensor1D }), dy)),
      )([x, f, bias]);
      // dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_pixels dy
      expect(relError(await gx!.data(), product64(dyv!, transpose64(fv!, c, d), p, d, c))).toBeLessThan(2e-6);
      expect(relError(await gf!.data(), product64(transpose64(xv!, p, c), dyv!, c, p, d))).toBeLessThan(2e-6);
      const db = new Float64Array(d);
      for (let i = 0; i < p; i++) for (let j = 0; j < d; j++) db[j]! += dyv![i * d + j];
      expect(relError(await gb!.data(), db)).toBeLessThan(2e-6);
      tf.dispose([x, f, bias, dy, y, gx!, gf!, gb!]);
    }));

  it('core matMul runs it on wasm, and the kernel called directly has gradients (dy·bᵀ, aᵀ·dy, Σ dy)', () =>
    expectNoLeaks(async () => {
      const [m, k, n] = [33, 17, 10];
      const a = tf.randomNormal([m, k], 0, 1, 'float32', 21) as tf.Tensor2D;
      const b = tf.randomNormal([k, n], 0, 1, 'float32', 22) as tf.Tensor2D;
      const bias = tf.randomNormal([n], 0, 1, 'float32', 23) as tf.Tensor1D;
      const dy = tf.randomNormal([m, n], 0, 1, 'float32', 24);
      const prof = await tf.profile(() => matMul(a, b));
      expect(prof.kernelNames.includes(PRODUCT_KERNEL)).toBe(onWasm());
      (prof.result as tf.Tensor).dispose();
      const [av, bv, dyv] = (await Promise.all([a.data(), b.data(), dy.data()])) as Float32Array[];
      if (onWasm()) {
        const direct = (x: tf.Tensor, y: tf.Tensor, e: tf.Tensor) =>
          tf.sum(tf.mul(tf.engine().runKernel(PRODUCT_KERNEL, { a: x, b: y, bias: e }, {}) as tf.Tensor, dy));
        const [ga, gb, gbias] = tf.grads(direct)([a, b, bias]);
        expect(relError(await ga!.data(), product64(dyv!, transpose64(bv!, k, n), m, n, k))).toBeLessThan(2e-6);
        expect(relError(await gb!.data(), product64(transpose64(av!, m, k), dyv!, k, m, n))).toBeLessThan(2e-6);
        const db = new Float64Array(n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j]! += dyv![i * n + j];
        expect(relError(await gbias!.data(), db)).toBeLessThan(2e-6);
        tf.dispose([ga!, gb!, gbias!]);
      }
      tf.dispose([a, b, bias, dy]);
    }));

  it('counts its FLOPs as the product it is: 2·m·k·n, and a 1×1 conv step 3× the forward', async () => {
    const a = tf.randomNormal([40, 24]) as tf.Tensor2D;
    const b = tf.randomNormal([24, 16]) as tf.Tensor2D;
    const { result, count } = await countFlops(async () => matMul(a, b));
    expect(count.flops).toBe(2 * 40 * 24 * 16);
    const x = tf.randomNormal([1, 8, 8, 24]) as tf.Tensor4D;
    const w = tf.randomNormal([1, 1, 24, 16]) as tf.Tensor4D;
    const step = await countFlops(async () => {
      const g = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(conv2d(u as tf.Tensor4D, v as tf.Tensor4D)))([x, w]);
      tf.dispose(g);
    });
    expect(step.count.flops).toBe(3 * 2 * 64 * 24 * 16);
    tf.dispose([a, b, result, x, w]);
  });
});
