import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError } from '../errors.js';
import { channelLayerNorm, cropTo, gelu, geluOfHalved, leakyRelu, pixelShuffle, simam, simpleGate } from './basic.js';
import { conv2d } from './conv.js';

/** Core's public ops name the op and the argument when given something other than a float32 tensor. */
describe('typed errors of the element-wise and conv ops', () => {
  const ops: [string, (v: unknown) => tf.TensorContainer][] = [
    ['gelu', (v) => gelu(v as tf.Tensor)],
    ['geluOfHalved', (v) => geluOfHalved(v as tf.Tensor)],
    ['leakyRelu', (v) => leakyRelu(v as tf.Tensor, 0.2)],
    ['simpleGate', (v) => simpleGate(v as tf.Tensor4D)],
    ['simam', (v) => simam(v as tf.Tensor4D)],
    ['channelLayerNorm', (v) => channelLayerNorm(v as tf.Tensor, tf.ones([4]), null)],
    ['conv2d', (v) => conv2d(v as tf.Tensor4D, tf.ones([1, 1, 4, 4]) as tf.Tensor4D)],
  ];

  it('a non-tensor is a DTypeError naming the op, the argument and what it got; no tensors leak', () => {
    for (const [name, f] of ops)
      for (const [bad, what] of [
        [[[1, 2]], 'an array of length 1'],
        [null, 'null'],
        [3, 'number 3'],
        [{ shape: [1] }, 'an object (Object)'],
      ] as const) {
        const before = tf.memory().numTensors;
        let err: unknown;
        try {
          tf.tidy(() => f(bad));
        } catch (e) {
          err = e;
        }
        expect(err, `${name}(${JSON.stringify(bad)})`).toBeInstanceOf(DTypeError);
        expect((err as Error).message).toContain(`${name}: the input must be a tf.Tensor of dtype float32, got ${what}`);
        expect(tf.memory().numTensors, name).toBe(before);
      }
  });

  it('an int32 tensor is a DTypeError with its dtype and shape; a disposed one says so', () => {
    const int = tf.zeros([1, 2, 2, 4], 'int32');
    const gone = tf.zeros([1, 2, 2, 4]);
    gone.dispose();
    const before = tf.memory().numTensors;
    for (const [name, f] of ops) {
      expect(() => tf.tidy(() => f(int)), name).toThrow(new DTypeError(`${name}: the input must be float32, got int32 (shape [1, 2, 2, 4])`));
      expect(() => tf.tidy(() => f(gone)), name).toThrow(new DTypeError(`${name}: the input is a disposed tensor`));
    }
    expect(tf.memory().numTensors).toBe(before);
    int.dispose();
  });

  it('names the weight and the filter too; data-movement ops take any dtype; a bad slope is a ConfigError', () => {
    const x = tf.zeros([1, 2, 2, 4]) as tf.Tensor4D;
    expect(() => channelLayerNorm(x, [1, 1, 1, 1] as never, null)).toThrow(/channelLayerNorm: the weight must be a tf.Tensor/);
    expect(() => channelLayerNorm(x, tf.ones([4]), 'b' as never)).toThrow(/channelLayerNorm: the bias must be a tf.Tensor/);
    expect(() => conv2d(x, 'w' as never)).toThrow(/conv2d: the filter must be a tf.Tensor of dtype float32, got string w/);
    expect(() => leakyRelu(x, Number.NaN)).toThrow(ConfigError);
    expect(() => leakyRelu(x, '0.2' as never)).toThrow(/leakyRelu: the slope must be a finite number, got string 0.2/);
    // pixelShuffle and cropTo move data: an int32 tensor goes through, a rank-3 one is still a ShapeError
    const int = tf.zeros([1, 2, 2, 4], 'int32') as tf.Tensor4D;
    const rank3 = tf.zeros([2, 2, 4]);
    const before = tf.memory().numTensors;
    const shuffled = pixelShuffle(int, 2);
    expect(shuffled.dtype).toBe('int32');
    expect(shuffled.shape).toEqual([1, 4, 4, 1]);
    const cropped = cropTo(int, 1, 1);
    expect(cropped.shape).toEqual([1, 1, 1, 4]);
    tf.dispose([shuffled, cropped]);
    expect(() => pixelShuffle(rank3 as never)).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, int, rank3]);
  });
});
