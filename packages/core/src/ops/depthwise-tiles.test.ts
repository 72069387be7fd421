import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, DerivedWeights, conv2d, prefers, withSettings } from '../index.js';
import { DEPTHWISE_KERNEL, useWasmKernels } from '../wasm/kernels.js';
import { depthwiseInTiles } from './conv.js';

/**
 * tfjs-backend-wasm runs only 3×3 and 5×5 depthwise convs through XNNPACK's fast kernels; core computes the others
 * as sums of 5×5 convs over tiles of the kernel where `prefers('depthwiseTiles')`.
 */
describe('depthwise convs as sums of 5×5 tiles', () => {
  it('equal the whole conv for kernels from 4×4 to 11×11, square or not, multiplier 1 and 2', async () => {
    const before = tf.memory().numTensors;
    const cases: [number, number, number, number, number][] = [
      // kh, kw, padding rows, padding cols, multiplier
      [7, 7, 3, 3, 1],
      [7, 7, 3, 3, 2],
      [4, 4, 2, 2, 1],
      [6, 6, 3, 3, 1],
      [9, 9, 4, 4, 1],
      [11, 11, 6, 6, 1],
      [7, 5, 3, 2, 1],
      [4, 7, 2, 3, 1],
      [7, 7, 4, 5, 1],
    ];
    for (const [kh, kw, ph, pw, m] of cases) {
      const x = tf.randomNormal([2, 9, 11, 3], 0, 1, 'float32', kh * 10 + kw) as tf.Tensor4D;
      const w = tf.randomNormal([kh, kw, 3, m], 0, 0.5, 'float32', 7) as tf.Tensor4D;
      const pads = [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ];
      const whole = tf.depthwiseConv2d(x, w, 1, pads as never);
      const tiled = depthwiseInTiles(x, w, [1, 1], [ph, pw]);
      expect(tiled, `${kh}×${kw}`).not.toBeNull();
      expect(tiled!.shape).toEqual(whole.shape);
      const [a, b] = await Promise.all([whole.data(), tiled!.data()]);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst, `${kh}×${kw} pad ${ph},${pw} m ${m}`).toBeLessThan(1e-5);
      tf.dispose([x, w, whole, tiled!]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('do not apply to 3×3, 5×5, thin, strided or unpadded-valid kernels (the plain conv runs)', () => {
    const before = tf.memory().numTensors;
    const x = tf.zeros([1, 12, 12, 2]) as tf.Tensor4D;
    const cases: [number, number, number, number][] = [
      // kh, kw, stride, padding
      [3, 3, 1, 1],
      [5, 5, 1, 2],
      [7, 3, 1, 3],
      [7, 7, 2, 3],
      [7, 7, 1, 0], // the second tile would need negative padding
      [11, 11, 1, 5], // so would the first (it ends 6 taps before the kernel)
    ];
    for (const [kh, kw, s, p] of cases) {
      const w = tf.zeros([kh, kw, 2, 1]) as tf.Tensor4D;
      expect(depthwiseInTiles(x, w, [s, s], [p, p]), `${kh}×${kw} stride ${s} pad ${p}`).toBeNull();
      w.dispose();
    }
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("conv2d takes them exactly where core prefers it and restorekit's wasm kernel is off: four 5×5 convs for a 7×7", async () => {
    const x = tf.randomNormal([1, 10, 10, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([7, 7, 1, 4], 0, 0.5, 'float32', 4) as tf.Tensor4D;
    const info = await withSettings({ wasmKernels: false }, () => tf.profile(() => conv2d(x, w, { padding: 3, groups: 4 })));
    const convs = info.kernels.filter((k) => k.name === 'DepthwiseConv2dNative');
    expect(convs.length).toBe(prefers('depthwiseTiles') ? 4 : 1);
    tf.dispose(info.result as tf.Tensor);
    // with it on (the default), wasm runs the 7×7 as one pass of restorekit's kernel
    const own = await tf.profile(() => conv2d(x, w, { padding: 3, groups: 4 }));
    const names = own.kernels.map((k) => k.name);
    expect(names.filter((n) => n === DEPTHWISE_KERNEL).length).toBe(useWasmKernels(x) ? 1 : 0);
    expect(names.filter((n) => n === 'DepthwiseConv2dNative').length).toBe(useWasmKernels(x) ? 0 : prefers('depthwiseTiles') ? 4 : 1);
    tf.dispose(own.result as tf.Tensor);
    const ref = tf.depthwiseConv2d(x, tf.reshape(w, [7, 7, 4, 1]) as tf.Tensor4D, 1, [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ] as never);
    const got = conv2d(x, w, { padding: 3, groups: 4 });
    const [a, b] = await Promise.all([ref.data(), got.data()]);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, w, ref, got]);
  });

  it("keep their masked tiles in the caller's DerivedWeights between inference calls, and follow new weight data", async () => {
    const x = tf.randomNormal([1, 10, 10, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const w = tf.variable(tf.randomNormal([7, 7, 4, 1], 0, 0.5, 'float32', 6)) as tf.Variable<tf.Rank.R4>;
    const derived = new DerivedWeights();
    const before = tf.memory().numTensors;
    const ref = (k: tf.Tensor4D) => depthwiseInTiles(x, k, [1, 1], [3, 3])!;
    const first = depthwiseInTiles(x, w, [1, 1], [3, 3], derived)!;
    expect(derived.size).toBe(1); // one [4·5, 5, 4, 1] tensor holds the four tiles
    const again = await tf.profile(() => depthwiseInTiles(x, w, [1, 1], [3, 3], derived)!);
    // the second call only slices the cached tiles: no Pad of the kernel, no mask products
    expect(again.kernels.filter((k) => k.name === 'Pad' || k.name === 'Multiply').length).toBe(0);
    const expected = ref(w);
    const close = async (a: tf.Tensor, b: tf.Tensor) => {
      const [u, v] = await Promise.all([a.data(), b.data()]);
      let worst = 0;
      for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!));
      return worst;
    };
    expect(await close(first, expected)).toBe(0);
    expect(await close(again.result as tf.Tensor, expected)).toBe(0);
    // an optimizer step (assign) gives w new data: the cached tiles are recomputed from it
    tf.tidy(() => w.assign(tf.mul(w, -2) as tf.Tensor4D));
    const after = depthwiseInTiles(x, w, [1, 1], [3, 3], derived)!;
    const expected2 = ref(w);
    expect(await close(after, expected2)).toBe(0);
    const scaled = tf.mul(expected, -2);
    expect(await close(after, scaled)).toBeLessThan(1e-5);
    tf.dispose([first, again.result as tf.Tensor, expected, after, expected2, scaled]);
    expect(derived.dispose()).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });

  it('a Conv2d block keeps them (7×7 depthwise) and frees them when disposed; with the wasm kernel it keeps none', () => {
    for (const wasmKernels of [false, true]) {
      withSettings({ wasmKernels }, () => {
        const conv = new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 7, padding: 3, groups: 4, bias: false });
        const x = tf.randomNormal([1, 9, 9, 4], 0, 1, 'float32', 8);
        const before = tf.memory().numTensors;
        tf.dispose(conv.apply(x) as tf.Tensor);
        const weights = conv.getWeights().length;
        const kept = prefers('depthwiseTiles') && !useWasmKernels(x) ? 1 : 0;
        expect(tf.memory().numTensors - before, `wasmKernels ${wasmKernels}`).toBe(weights + kept);
        tf.dispose(conv.apply(x) as tf.Tensor); // a second call adds nothing
        expect(tf.memory().numTensors - before).toBe(weights + kept);
        conv.dispose();
        expect(tf.memory().numTensors).toBe(before);
        x.dispose();
      });
    }
  });
});
