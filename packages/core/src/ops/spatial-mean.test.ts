import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { prefers } from '../settings.js';
import { channelMax, spatialMean, spatialSum } from './basic.js';
import { expectNoLeaks } from '../testing/index.js';

const maxDiff = async (a: tf.Tensor, b: tf.Tensor) => {
  const [u, v] = await Promise.all([a.data(), b.data()]);
  let worst = 0;
  for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!));
  return worst;
};

describe('spatialMean: the mean over H and W (a global average pool where core prefers it)', () => {
  it('equals tf.mean(x, [1, 2], true) for even, odd and 1-pixel sizes and batches, with the gradient dy/(H·W)', async () => {
    const before = tf.memory().numTensors;
    for (const shape of [
      [1, 16, 16, 5],
      [2, 7, 9, 3],
      [3, 1, 1, 4],
      [1, 33, 2, 8],
    ] as [number, number, number, number][]) {
      const x = tf.randomNormal(shape, 0.5, 2, 'float32', shape[1]) as tf.Tensor4D;
      const got = spatialMean(x);
      const want = tf.mean(x, [1, 2], true);
      expect(got.shape).toEqual([shape[0], 1, 1, shape[3]]);
      expect(await maxDiff(got, want), `${shape}`).toBeLessThan(1e-6 * 8);
      // gradient of Σ w·mean against the same through tf.mean
      const w = tf.randomNormal([shape[0], 1, 1, shape[3]], 0, 1, 'float32', 9);
      const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(spatialMean(t as tf.Tensor4D), w)))(x);
      const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [1, 2], true), w)))(x);
      expect(g1.shape).toEqual(shape);
      expect(await maxDiff(g1, g2), `grad ${shape}`).toBeLessThan(1e-7);
      tf.dispose([x, got, want, w, g1, g2]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs as one AvgPool, no transposed copy, exactly where core prefers it', async () => {
    const x = tf.randomNormal([1, 12, 10, 6], 0, 1, 'float32', 2) as tf.Tensor4D;
    const info = await tf.profile(() => spatialMean(x));
    const names = info.kernels.map((k) => k.name);
    // (tf.avgPool ends with a Cast to x's dtype, on a [B, 1, 1, C] result)
    if (prefers('poolForSpatialMean')) {
      expect(names).toContain('AvgPool');
      expect(names.filter((n) => ['Transpose', 'Mean', 'Sum'].includes(n))).toEqual([]);
    } else expect(names).not.toContain('AvgPool');
    tf.dispose([x, info.result as tf.Tensor]);
  });

  it('a tensor that is not [B, H, W, C] is a ShapeError', () => {
    const x = tf.zeros([4, 4, 3]);
    expect(() => spatialMean(x as never)).toThrow(ShapeError);
    expect(() => spatialMean(x as never)).toThrow(/spatialMean: input must be rank 4/);
    x.dispose();
  });

  it('spatialSum is the sum over H, W (value and gradient within float rounding), a ShapeError for other ranks, nothing leaked', async () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 9, 7, 5], 0, 1, 'float32', 11) as tf.Tensor4D;
    const w = tf.randomNormal([2, 1, 1, 5], 0, 1, 'float32', 12);
    const got = spatialSum(x);
    const want = tf.sum(x, [1, 2], true);
    expect(got.shape).toEqual([2, 1, 1, 5]);
    expect(await maxDiff(got, want)).toBeLessThan(2e-5);
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(spatialSum(t as tf.Tensor4D), w)))(x);
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, [1, 2], true), w)))(x);
    expect(await maxDiff(g1, g2)).toBeLessThan(1e-6);
    const bad = tf.zeros([4, 4, 3]);
    expect(() => spatialSum(bad as never)).toThrow(/spatialSum: input must be rank 4/);
    tf.dispose([x, w, got, want, g1, g2, bad]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('channelMax (tf.max over the last axis, keepDims; gradient as a mask from a subtraction)', () => {
  it('equals tf.max and its gradient (ties: every channel equal to the max gets dy), no leaks', () =>
    expectNoLeaks(async () => {
      const x = tf.tensor4d([1, 5, 5, 2, -3, -1, -2, -1, 0.5, 0.25, 0.5, 0.5], [1, 2, 2, 3]);
      const r = tf.randomNormal([2, 5, 7, 9], 0, 1, 'float32', 4);
      for (const t of [x, r]) {
        const m = channelMax(t);
        const want = tf.max(t, -1, true);
        expect(m.shape).toEqual(want.shape);
        expect(Array.from(await m.data())).toEqual(Array.from(await want.data()));
        const dy = tf.randomNormal(want.shape, 0, 1, 'float32', 5);
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(channelMax(a), dy)))(t);
        const gw = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.max(a, -1, true), dy)))(t);
        expect(Array.from(await g.data())).toEqual(Array.from(await gw.data()));
        tf.dispose([m, want, dy, g, gw]);
      }
      // the ties of x's first pixel (5, 5) both receive dy
      const g1 = tf.grad((a: tf.Tensor) => tf.sum(channelMax(a)))(x);
      expect(Array.from((await g1.data()).slice(0, 3))).toEqual([0, 1, 1]);
      const s = tf.scalar(1);
      expect(() => channelMax(s)).toThrow(ShapeError);
      tf.dispose([x, r, g1, s]);
    }));
});
