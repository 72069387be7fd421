import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, LayerNorm2d, BatchNorm2d, ShapeError, DTypeError, conv2d, pixelShuffle, pixelUnshuffle, padToMultiple, cropTo } from './index.js';

/** Each case must throw the named typed error and leave tf.memory() as it was. */
function expectClean(fn: () => unknown, type: abstract new (...a: never[]) => Error, msg: RegExp) {
  const before = tf.memory().numTensors;
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(msg);
  expect(tf.memory().numTensors).toBe(before);
}

describe('bad input gets typed errors and leaks nothing', () => {
  it('blocks check rank, channels and dtype', () => {
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, name: 'stem' });
    conv.build([null, 8, 8, 3]);
    const x3 = tf.zeros([8, 8, 3]);
    const x5c = tf.zeros([1, 8, 8, 5]);
    const xi = tf.zeros([1, 8, 8, 3], 'int32');
    expectClean(() => conv.apply(x3), ShapeError, /Conv2d 'stem': input 0 must be rank 4 \[B, H, W, C\] \(NHWC\), got shape \[8, 8, 3\]/);
    expectClean(() => conv.apply(x5c), ShapeError, /must have 3 channels .* got shape \[1, 8, 8, 5\]/);
    expectClean(() => conv.apply(xi), DTypeError, /must be float32, got int32/);
    const ln = new LayerNorm2d({ channels: 4 });
    ln.build([null, 2, 2, 4]);
    expectClean(() => ln.apply(x5c), ShapeError, /must have 4 channels/);
    const bn = new BatchNorm2d({ channels: 5 });
    bn.build([null, 1, 1, 5]);
    const one = tf.zeros([1, 1, 1, 5]);
    expectClean(() => bn.apply(one, { training: true }), ShapeError, /training needs more than one value per channel/);
    tf.dispose([x3, x5c, xi, one]);
    conv.dispose();
    ln.dispose();
    bn.dispose();
  });

  it('ops check shapes', () => {
    const x = tf.zeros([1, 5, 6, 3]);
    const w = tf.zeros([3, 3, 4, 8]);
    const tiny = tf.zeros([1, 2, 2, 4]);
    const w7 = tf.zeros([7, 7, 4, 4]);
    expectClean(() => conv2d(x as tf.Tensor4D, w as tf.Tensor4D), ShapeError, /input has 3 channels but the filter \[3, 3, 4, 8\]/);
    expectClean(() => conv2d(tiny as tf.Tensor4D, w7 as tf.Tensor4D), ShapeError, /smaller than the 7×7 kernel/);
    expectClean(() => pixelUnshuffle(x as tf.Tensor4D, 2), ShapeError, /multiples of 2, got shape \[1, 5, 6, 3\]/);
    expectClean(() => pixelShuffle(x as tf.Tensor4D, 2), ShapeError, /multiple of 4/);
    const small = tf.zeros([1, 2, 2, 1]);
    expectClean(() => padToMultiple(small as tf.Tensor4D, 8), ShapeError, /reflect padding of 6×6 needs an input larger/);
    small.dispose();
    expectClean(() => cropTo(x as tf.Tensor4D, 9, 2), ShapeError, /cannot crop 9×2/);
    tf.dispose([x, w, tiny, w7]);
  });

  it('padToMultiple reflect-pads bottom/right like the official test code and cropTo undoes it', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const p = padToMultiple(x as tf.Tensor4D, 4);
    expect(p.x.shape).toEqual([1, 4, 4, 1]);
    // PyTorch F.pad(x, (0, 1, 0, 1), 'reflect'): the new row/col mirrors row/col 1 (the edge is not repeated)
    expect(Array.from(await p.x.data())).toEqual([1, 2, 3, 2, 4, 5, 6, 5, 7, 8, 9, 8, 4, 5, 6, 5]);
    const c = cropTo(p.x, p.height, p.width);
    expect(Array.from(await c.data())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    tf.dispose([x, p.x, c]);
  });
});
