import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { countFlops } from '../flops.js';
import { expectNoLeaks } from '../testing/index.js';
import { relError } from './float64-reference.js';
import { withSettings } from '../settings.js';
import { WINOGRAD_CONV_KERNEL, WINOGRAD_FILTER_GRAD_KERNEL } from '../wasm/kernels.js';
import { conv2d, convTranspose2d } from './conv.js';

const onWasm = () => tf.getBackend() === 'wasm';

/** y[b, oy, ox, d] = Σ x[b, oy − p + i, ox − p + j, c]·w[i, j, c, d] (taps outside x are 0) in float64, stride 1. */
function convReference(x: Float32Array, [B, H, W, C]: number[], w: Float32Array, [K, , , D]: number[], p: number) {
  const [OH, OW] = [H + 2 * p - K + 1, W + 2 * p - K + 1];
  const y = new Float64Array(B * OH * OW * D);
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let i = 0; i < K; i++) {
          const r = oy - p + i;
          if (r < 0 || r >= H) continue;
          for (let j = 0; j < K; j++) {
            const c0 = ox - p + j;
            if (c0 < 0 || c0 >= W) continue;
            for (let c = 0; c < C; c++) {
              const v = x[((b * H + r) * W + c0) * C + c]!;
              for (let d = 0; d < D; d++) y[((b * OH + oy) * OW + ox) * D + d]! += v * w[((i * K + j) * C + c) * D + d]!;
            }
          }
        }
  return y;
}

describe("3×3 stride-1 conv2d (wasm: restorekit's Winograd kernels, F(2×2, 3×3) and for the filter gradient F(3×3, 2×2))", () => {
  // [B, H, W, C, D, padding]: whole tiles; odd output sizes (a tile's second row/column cut), channel counts that are
  // not multiples of 4 (overlapping vectors), a batch; valid and padding 2; several bands of tile rows (W 9: 5 tiles a
  // row, 25 rows a band) and one row a band (W 300: 150 tiles); C above the product's 128-row blocks; and shapes the
  // kernel leaves to tf.conv2d (fewer than 8 channels in or out, an output narrower than 8)
  const cases: [number, number, number, number, number, number][] = [
    [1, 16, 16, 8, 8, 1],
    [2, 13, 11, 9, 13, 1],
    [1, 40, 16, 13, 10, 0],
    [1, 9, 30, 20, 12, 2],
    [1, 70, 9, 8, 8, 1],
    [1, 5, 300, 8, 16, 1],
    [1, 6, 20, 130, 9, 1],
    [1, 12, 12, 4, 16, 1],
    [1, 12, 12, 16, 3, 1],
    [1, 12, 5, 16, 16, 1],
  ];
  for (const [B, H, W, C, D, p] of cases)
    it(`[${B}, ${H}, ${W}, ${C}] ⊛ 3×3×${C}×${D}, padding ${p}: the float64 sums, and gradients by hand`, () =>
      expectNoLeaks(async () => {
        const x = tf.randomNormal([B, H, W, C], 0, 1, 'float32', H * W + C) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, C, D], 0, 1 / Math.sqrt(9 * C), 'float32', C + D) as tf.Tensor4D;
        const [OH, OW] = [H + 2 * p - 2, W + 2 * p - 2];
        const dy = tf.randomNormal([B, OH, OW, D], 0, 1, 'float32', 5);
        const prof = await tf.profile(() => conv2d(x, w, { padding: p }));
        const y = prof.result as tf.Tensor;
        const runs = onWasm() && C >= 8 && D >= 8 && OW >= 8;
        expect(prof.kernels.some((k) => k.name === WINOGRAD_CONV_KERNEL)).toBe(runs);
        expect(y.shape).toEqual([B, OH, OW, D]);
        const [xv, wv, dyv] = (await Promise.all([x.data(), w.data(), dy.data()])) as Float32Array[];
        expect(relError(await y.data(), convReference(xv!, x.shape, wv!, w.shape, p))).toBeLessThan(3e-6);
        // dL/dx of Σ y·dy is the conv of dy (padded by 2 − p) with the flipped filter, in and out swapped; dL/dw[i, j, c, d]
        // = Σ x[b, oy − p + i, ox − p + j, c]·dy[b, oy, ox, d]
        const back = await tf.profile(() =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { padding: p }), dy)))([x, w]),
        );
        const [gx, gw] = back.result as tf.Tensor[];
        // the forward again, and the input gradient from the rotated filter's transform
        expect(back.kernels.filter((k) => k.name === WINOGRAD_CONV_KERNEL).length).toBe(runs ? 2 : 0);
        // and the filter gradient as F(3×3, 2×2) wherever both channel counts allow (any output width)
        expect(back.kernels.filter((k) => k.name === WINOGRAD_FILTER_GRAD_KERNEL).length).toBe(onWasm() && C >= 8 && D >= 8 ? 1 : 0);
        const flipped = new Float32Array(9 * C * D);
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++)
            for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) flipped[(((2 - i) * 3 + 2 - j) * D + d) * C + c] = wv![((i * 3 + j) * C + c) * D + d]!;
        expect(relError(await gx!.data(), convReference(dyv!, dy.shape, flipped, [3, 3, D, C], 2 - p))).toBeLessThan(3e-6);
        const wantW = new Float64Array(9 * C * D);
        for (let b = 0; b < B; b++)
          for (let oy = 0; oy < OH; oy++)
            for (let ox = 0; ox < OW; ox++)
              for (let i = 0; i < 3; i++)
                for (let j = 0; j < 3; j++) {
                  const [r, c0] = [oy - p + i, ox - p + j];
                  if (r < 0 || r >= H || c0 < 0 || c0 >= W) continue;
                  for (let c = 0; c < C; c++)
                    for (let d = 0; d < D; d++)
                      wantW[((i * 3 + j) * C + c) * D + d]! += xv![((b * H + r) * W + c0) * C + c]! * dyv![((b * OH + oy) * OW + ox) * D + d]!;
                }
        expect(relError(await gw!.data(), wantW)).toBeLessThan(3e-6);
        tf.dispose([x, w, dy, y, gx!, gw!]);
      }));

  it('gives what the direct conv gives with the wasm kernels off (value and input gradient), and no leaks', () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([1, 24, 20, 16], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 16, 24], 0, 0.1, 'float32', 2) as tf.Tensor4D;
      const f = (a: tf.Tensor) => tf.sum(tf.square(conv2d(a as tf.Tensor4D, w, { padding: 1 })));
      const on = tf.valueAndGrad(f)(x);
      const off = withSettings({ wasmKernels: false }, () => tf.valueAndGrad(f)(x));
      const [vOn, vOff] = [(await on.value.data())[0]!, (await off.value.data())[0]!];
      expect(Math.abs(vOn - vOff) / vOff).toBeLessThan(2e-6);
      expect(relError(await on.grad.data(), await off.grad.data())).toBeLessThan(3e-6);
      tf.dispose([x, w, on.value, on.grad, off.value, off.grad]);
    }));

  it('is counted as the 3×3 conv it computes (2·OH·OW·9·C·D FLOPs per image)', async () => {
    const x = tf.randomNormal([2, 16, 18, 12]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 12, 20]) as tf.Tensor4D;
    const { result, count } = await countFlops(async () => conv2d(x, w, { padding: 1 }));
    expect(count.flops).toBe(2 * 2 * 16 * 18 * 9 * 12 * 20);
    tf.dispose([x, w, result]);
  });
});

describe('transposed convs whose kernel is a multiple of the stride (wasm: one product or conv of g and a depth-to-space)', () => {
  // [B, H, W, C_in, C_out, kh, kw, sh, sw]: kernel = stride (one product), 2 × stride (a 2×2 conv of g, DRCNet's 4×4
  // stride-2 conv's input gradient), and an oblong kernel with different strides (phases 3 × 2, sub-kernel 2 × 2)
  const cases: [number, number, number, number, number, number, number, number, number][] = [
    [1, 6, 5, 8, 4, 2, 2, 2, 2],
    [2, 3, 4, 5, 7, 3, 3, 3, 3],
    [1, 5, 6, 9, 10, 4, 4, 2, 2],
    [2, 4, 3, 6, 5, 6, 4, 3, 2],
  ];
  for (const [B, H, W, cin, cout, kh, kw, sh, sw] of cases)
    it(`convTranspose2d of [${B}, ${H}, ${W}, ${cin}] by ${kh}×${kw}×${cout}×${cin}, stride ${sh}×${sw}: y[s·p + i, s·q + j] += g[p, q]·w[i, j]`, () =>
      expectNoLeaks(async () => {
        const g = tf.randomNormal([B, H, W, cin], 0, 1, 'float32', 3) as tf.Tensor4D;
        const w = tf.randomNormal([kh, kw, cout, cin], 0, 1, 'float32', 4) as tf.Tensor4D;
        const y = convTranspose2d(g, w, { stride: [sh, sw] });
        const [OH, OW] = [(H - 1) * sh + kh, (W - 1) * sw + kw];
        expect(y.shape).toEqual([B, OH, OW, cout]);
        const [gv, wv] = (await Promise.all([g.data(), w.data()])) as Float32Array[];
        const want = new Float64Array(B * OH * OW * cout);
        for (let b = 0; b < B; b++)
          for (let p = 0; p < H; p++)
            for (let q = 0; q < W; q++)
              for (let i = 0; i < kh; i++)
                for (let j = 0; j < kw; j++)
                  for (let c = 0; c < cout; c++) {
                    let s = 0;
                    for (let e = 0; e < cin; e++) s += gv![((b * H + p) * W + q) * cin + e]! * wv![((i * kw + j) * cout + c) * cin + e]!;
                    want[((b * OH + sh * p + i) * OW + sw * q + j) * cout + c]! += s;
                  }
        expect(relError(await y.data(), want)).toBeLessThan(2e-6);
        tf.dispose([g, w, y]);
      }));

  it("a 4×4 stride-2 conv's input gradient, padding 1, with a row and column past the last window (zeros there)", () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([1, 11, 9, 6], 0, 1, 'float32', 5) as tf.Tensor4D;
      const w = tf.randomNormal([4, 4, 6, 5], 0, 1, 'float32', 6) as tf.Tensor4D;
      // padded 13 × 11: outputs 5 × 4, the windows cover padded rows 0..11 and cols 0..9
      const dy = tf.randomNormal([1, 5, 4, 5], 0, 1, 'float32', 7);
      const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, w, { stride: 2, padding: 1 }), dy)))(x);
      const [wv, dyv] = (await Promise.all([w.data(), dy.data()])) as Float32Array[];
      const want = new Float64Array(11 * 9 * 6);
      for (let p = 0; p < 5; p++)
        for (let q = 0; q < 4; q++)
          for (let i = 0; i < 4; i++)
            for (let j = 0; j < 4; j++) {
              const [r, c0] = [2 * p + i - 1, 2 * q + j - 1];
              if (r < 0 || r >= 11 || c0 < 0 || c0 >= 9) continue;
              for (let c = 0; c < 6; c++)
                for (let d = 0; d < 5; d++) want[(r * 9 + c0) * 6 + c]! += dyv![(p * 4 + q) * 5 + d]! * wv![((i * 4 + j) * 6 + c) * 5 + d]!;
            }
      expect(relError(await gx.data(), want)).toBeLessThan(2e-6);
      tf.dispose([x, w, dy, gx]);
    }));

  it("a 2×2 stride-2 conv's input gradient, with a row and column past the last window (zeros there)", () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([1, 9, 7, 6], 0, 1, 'float32', 5) as tf.Tensor4D;
      const w = tf.randomNormal([2, 2, 6, 5], 0, 1, 'float32', 6) as tf.Tensor4D;
      const dy = tf.randomNormal([1, 4, 3, 5], 0, 1, 'float32', 7);
      const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, w, { stride: 2 }), dy)))(x);
      const [wv, dyv] = (await Promise.all([w.data(), dy.data()])) as Float32Array[];
      const want = new Float64Array(9 * 7 * 6);
      for (let p = 0; p < 4; p++)
        for (let q = 0; q < 3; q++)
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 2; j++)
              for (let c = 0; c < 6; c++)
                for (let d = 0; d < 5; d++) want[((2 * p + i) * 7 + 2 * q + j) * 6 + c]! += dyv![(p * 3 + q) * 5 + d]! * wv![((i * 2 + j) * 6 + c) * 5 + d]!;
      expect(relError(await gx.data(), want)).toBeLessThan(2e-6);
      tf.dispose([x, w, dy, gx]);
    }));
});
