import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, prefers } from '../index.js';
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

  it('conv2d takes them exactly where core prefers it: four 5×5 convs for a 7×7', async () => {
    const x = tf.randomNormal([1, 10, 10, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([7, 7, 1, 4], 0, 0.5, 'float32', 4) as tf.Tensor4D;
    const info = await tf.profile(() => conv2d(x, w, { padding: 3, groups: 4 }));
    const convs = info.kernels.filter((k) => k.name === 'DepthwiseConv2dNative');
    expect(convs.length).toBe(prefers('depthwiseTiles') ? 4 : 1);
    const ref = tf.depthwiseConv2d(x, tf.reshape(w, [7, 7, 4, 1]) as tf.Tensor4D, 1, [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ] as never);
    const got = conv2d(x, w, { padding: 3, groups: 4 });
    const [a, b] = await Promise.all([ref.data(), got.data()]);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, w, ref, got, info.result as tf.Tensor]);
  });
});
