import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError } from '../errors.js';
import { countFlops } from '../flops.js';
import { expectNoLeaks } from '../testing/index.js';
import { relError } from './float64-reference.js';
import { withSettings } from '../settings.js';
import { GRAM_KERNEL } from '../wasm/kernels.js';
import { blockDiagonal, headGrams } from './gram.js';

const onWasm = () => tf.getBackend() === 'wasm';

/** g[h, i, j] = Σ_r a[r, h·da + i]·b[r, h·db + j] in float64 on the host. */
function reference(a: Float32Array, b: Float32Array, n: number, ca: number, cb: number, heads: number): Float64Array {
  const [da, db] = [ca / heads, cb / heads];
  const g = new Float64Array(heads * da * db);
  for (let r = 0; r < n; r++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < da; i++) {
        const x = a[r * ca + h * da + i]!;
        for (let j = 0; j < db; j++) g[(h * da + i) * db + j]! += x * b[r * cb + h * db + j]!;
      }
  return g;
}

describe("headGrams (per-head aᵀb of matrices with N rows; wasm: restorekit's kernel)", () => {
  // [N, Ca, Cb, heads]: head widths of 4 (one tile), 5, 7, 13 (overlapping last tiles), 8, 20, 48 (8- and 4-wide
  // tiles), a and b of different widths (a 1×1 conv's filter gradient), one of them below 4 (tf.matMul); N below, at and
  // across the kernel's 128-row blocks
  const cases: [number, number, number, number][] = [
    [1, 4, 4, 1],
    [37, 5, 5, 1],
    [128, 14, 14, 2],
    [129, 8, 8, 1],
    [300, 20, 20, 1],
    [257, 39, 39, 3],
    [200, 48, 48, 1],
    [64, 96, 96, 2],
    [150, 12, 7, 1],
    [140, 6, 27, 1],
    [90, 16, 40, 2],
    [70, 9, 3, 1],
  ];
  for (const [n, ca, cb, heads] of cases)
    it(`N=${n}, [${ca}]ᵀ·[${cb}], ${heads} head(s): the float64 sums, and gradients b_h·dg_hᵀ, a_h·dg_h`, () =>
      expectNoLeaks(async () => {
        const [da, db] = [ca / heads, cb / heads];
        const a = tf.randomNormal([n, ca], 0, 1, 'float32', n + ca) as tf.Tensor2D;
        const b = tf.randomNormal([n, cb], 0, 1, 'float32', 2 * n + cb) as tf.Tensor2D;
        const dg = tf.randomNormal([heads, da, db], 0, 1, 'float32', 3);
        const prof = await tf.profile(() => headGrams(a, b, heads));
        const g = prof.result as tf.Tensor;
        expect(prof.kernels.some((k) => k.name === GRAM_KERNEL)).toBe(onWasm() && da >= 4 && db >= 4);
        expect(g.shape).toEqual([heads, da, db]);
        const [av, bv, dgv] = (await Promise.all([a.data(), b.data(), dg.data()])) as Float32Array[];
        expect(relError(await g.data(), reference(av!, bv!, n, ca, cb, heads))).toBeLessThan(2e-6);
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(headGrams(x as tf.Tensor2D, y as tf.Tensor2D, heads), dg)))([a, b]);
        // by hand: ga[r, h·da + i] = Σ_j b[r, h·db + j]·dg[h, i, j], gb[r, h·db + j] = Σ_i a[r, h·da + i]·dg[h, i, j]
        const wantA = new Float64Array(n * ca);
        const wantB = new Float64Array(n * cb);
        for (let r = 0; r < n; r++)
          for (let h = 0; h < heads; h++)
            for (let i = 0; i < da; i++)
              for (let j = 0; j < db; j++) {
                const w = dgv![(h * da + i) * db + j]!;
                wantA[r * ca + h * da + i]! += bv![r * cb + h * db + j]! * w;
                wantB[r * cb + h * db + j]! += av![r * ca + h * da + i]! * w;
              }
        expect(relError(await ga!.data(), wantA)).toBeLessThan(2e-6);
        expect(relError(await gb!.data(), wantB)).toBeLessThan(2e-6);
        // with the kernels off: tfjs's products (the same function)
        const off = withSettings({ wasmKernels: false }, () => headGrams(a, b, heads));
        expect(relError(await off.data(), await g.data())).toBeLessThan(2e-6);
        tf.dispose([a, b, dg, g, ga, gb, off]);
      }));

  it('blockDiagonal puts block h (or its transpose) at rows and columns h·d … h·d + d − 1', () =>
    expectNoLeaks(async () => {
      const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
      const bd = blockDiagonal(x);
      const bt = blockDiagonal(x, true);
      expect(Array.from(await bd.data())).toEqual([1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8]);
      expect(Array.from(await bt.data())).toEqual([1, 3, 0, 0, 2, 4, 0, 0, 0, 0, 5, 7, 0, 0, 6, 8]);
      // blocks of 1×2: [2, 4], and transposed [4, 2]
      const r = tf.tensor3d([1, 2, 3, 4], [2, 1, 2]);
      const rd = blockDiagonal(r);
      const rt = blockDiagonal(r, true);
      expect(rd.shape).toEqual([2, 4]);
      expect(Array.from(await rd.data())).toEqual([1, 2, 0, 0, 0, 0, 3, 4]);
      expect(rt.shape).toEqual([4, 2]);
      expect(Array.from(await rt.data())).toEqual([1, 0, 2, 0, 0, 3, 0, 4]);
      tf.dispose([r, rd, rt]);
      const x1 = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
      const one = blockDiagonal(x1, true);
      expect(Array.from(await one.data())).toEqual([1, 3, 2, 4]);
      tf.dispose([x, bd, bt, x1, one]);
    }));

  it('counts its FLOPs as its products: 2·N·d²·heads (forward), and the training step 3× that', async () => {
    const a = tf.randomNormal([50, 24]) as tf.Tensor2D;
    const b = tf.randomNormal([50, 24]) as tf.Tensor2D;
    const { result, count } = await countFlops(async () => headGrams(a, b, 3));
    expect(count.flops).toBe(2 * 50 * 8 * 8 * 3);
    const step = await countFlops(async () => {
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(headGrams(x as tf.Tensor2D, y as tf.Tensor2D, 1)))([a, b]);
      tf.dispose(g);
    });
    // each gradient: an [N, C]·[C, C] product (the block-diagonal matrix; one head here, so exactly the forward's work)
    expect(step.count.flops).toBe(3 * 2 * 50 * 24 * 24);
    tf.dispose([a, b, result]);
  });

  it('rejects what is not two float32 matrices of N rows split into whole heads, with typed errors', () =>
    expectNoLeaks(() => {
      const a = tf.zeros([6, 8]) as tf.Tensor2D;
      const narrow = tf.zeros([6, 4]) as tf.Tensor2D;
      const rank3 = tf.zeros([2, 6, 8]) as unknown as tf.Tensor2D;
      const ints = tf.zeros([6, 8], 'int32') as tf.Tensor2D;
      const short = tf.zeros([5, 8]) as tf.Tensor2D;
      expect(() => headGrams(a, short, 1)).toThrow(ShapeError);
      expect(() => headGrams(a, narrow, 3)).toThrow(/column counts divisible by heads = 3, got \[6, 8\] and \[6, 4\]/);
      expect(() => headGrams(rank3, a, 1)).toThrow(ShapeError);
      expect(() => headGrams(a, a, 0)).toThrow(ConfigError);
      expect(() => headGrams(ints, a, 1)).toThrow(DTypeError);
      expect(() => headGrams(a, 'b' as unknown as tf.Tensor2D, 1)).toThrow(/headGrams: b must be a tf.Tensor/);
      tf.dispose([a, narrow, short, rank3, ints]);
    }));
});
