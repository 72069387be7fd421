import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { calledFromFft, countFlops, dataMovement } from './flops.js';

describe('countFlops / calledFromFft', () => {
  it('a training step of one conv counts forward, input gradient and filter gradient: 3 × 2·H·W·k²·Cin·Cout', async () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([1, 8, 6, 4], 0, 1, 'float32', 1);
    const w = tf.tidy(() => tf.variable(tf.randomNormal([3, 3, 4, 5], 0, 1, 'float32', 2)));
    const xv = tf.variable(x);
    const { count } = await countFlops(async () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.conv2d(xv as unknown as tf.Tensor4D, w as unknown as tf.Tensor4D, 1, 'same')) as tf.Scalar,
        [w, xv],
      );
      tf.dispose([value, Object.values(grads)]);
    });
    const forward = 2 * 8 * 6 * 3 * 3 * 4 * 5;
    expect(count.flops).toBe(3 * forward);
    expect(count.fftFlops).toBe(0);
    tf.dispose([x, w, xv]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('convolutions inside dataMovement count as movementFlops, not flops', async () => {
    const x = tf.randomNormal([1, 6, 7, 3]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 3, 9]) as tf.Tensor4D;
    const { result, count } = await countFlops(async () => {
      const moved = dataMovement(() => tf.depthwiseConv2d(x, w, 1, 'valid'));
      const real = tf.conv2d(x, tf.ones([1, 1, 3, 2]) as tf.Tensor4D, 1, 'valid');
      return [moved, real];
    });
    expect(count.movementFlops).toBe(2 * 4 * 5 * 27 * 9);
    expect(count.flops).toBe(2 * 6 * 7 * 2 * 3);
    expect(dataMovement(() => 7)).toBe(7);
    expect(() =>
      dataMovement(() => {
        throw new Error('inner');
      }),
    ).toThrow('inner');
    // the depth is restored after a throw: a later kernel is counted as flops again
    const again = await countFlops(async () => tf.depthwiseConv2d(x, w, 1, 'valid'));
    expect(again.count.movementFlops).toBe(0);
    tf.dispose([x, w, ...result, again.result]);
  });

  it("a product is the FFT's only when fft's own code is the innermost caller outside tfjs", () => {
    const frames = (...files: string[]) => ['Error', ...files.map((f) => `    at fn (${f}:1:1)`)].join('\n');
    const tfjs = '/repo/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js';
    const fft = '/repo/packages/fft/dist/index.js';
    const gda = '/repo/packages/gated-da/dist/index.js';
    expect(calledFromFft(frames(tfjs, fft, gda))).toBe(true);
    expect(calledFromFft(frames(tfjs, '/app/node_modules/@restorekit/fft/dist/index.js'))).toBe(true);
    // AnyIR's attention extends fft's FFTBlock: fft frames further out do not make its own products FFTs
    expect(calledFromFft(frames(tfjs, gda, fft))).toBe(false);
    // core's ops are skipped like tfjs's: the caller behind them decides
    expect(calledFromFft(frames(tfjs, '/repo/packages/core/dist/index.js', fft))).toBe(true);
    expect(calledFromFft('Error')).toBe(false);
  });
});
