import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, ShapeError } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { L1Loss, type Loss, SSIMLoss, l1Loss, ssimLoss, toTfjsLoss } from './index.js';
import { randomImage, scalar } from './test-helpers.js';

/** A per-pixel restorer small enough to train in a test: Dense(3) on the channels of NHWC images. */
function tinyModel(seed: number): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 3, inputShape: [16, 16, 3], activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed }) })],
  });
  return model;
}

describe('toTfjsLoss: restorekit losses in model.compile / fit', () => {
  for (const [name, make] of [
    ['L1Loss', () => new L1Loss({ lossWeight: 2 })],
    ['SSIMLoss (skimage window)', () => new SSIMLoss({ window: 'uniform' })],
  ] as [string, () => Loss][])
    it(`fit reports the ${name} value of (pred, target) at every step`, async () => {
      await expectNoLeaks(async () => {
        const x = randomImage([4, 16, 16, 3], 90);
        // a target the model can approach: a fixed colour transform of the input
        const y = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.6), 0.2), 0, 1));
        const loss = make();
        const model = tinyModel(7);
        const optimizer = tf.train.sgd(0.5);
        model.compile({ optimizer, loss: toTfjsLoss(loss) });
        // the restorekit value of the weights each epoch starts from (one batch per epoch: fit reports that value)
        const direct: number[] = [];
        const history = await model.fit(x, y, {
          epochs: 4,
          batchSize: 4,
          shuffle: false,
          verbose: 0,
          callbacks: {
            onEpochBegin: async () => {
              const v = tf.tidy(() => loss.call(model.predict(x) as tf.Tensor, y));
              direct.push(await scalar(v));
              v.dispose();
            },
          },
        });
        const reported = history.history.loss as number[];
        expect(reported).toHaveLength(4);
        // bit-equal on cpu and wasm; a few float32 ulps of room for GPU backends' kernel choices
        for (const [i, r] of reported.entries())
          expect(Math.abs(r - direct[i]!), `step ${i}: tfjs ${r} vs restorekit ${direct[i]}`).toBeLessThanOrEqual(1e-6 * Math.abs(direct[i]!));
        // the steps trained the model (so the comparison is not of one frozen value)
        expect(reported[3]!).toBeLessThan(reported[0]!);
        // argument order: tfjs passes (yTrue, yPred); the adapter gives the loss (pred, target)
        const order: string[] = [];
        toTfjsLoss((pred, target) => {
          order.push(pred === x ? 'pred' : 'target', target === y ? 'target' : 'pred');
          return tf.scalar(0);
        })(y, x).dispose();
        expect(order).toEqual(['pred', 'target']);
        model.dispose();
        optimizer.dispose();
        tf.dispose([x, y]);
      });
    });

  it('plain (pred, target) functions, and typed errors for non-scalar losses and non-losses', async () => {
    await expectNoLeaks(async () => {
      const p = randomImage([2, 16, 16, 3], 91);
      const t = randomImage([2, 16, 16, 3], 92);
      const viaAdapter = toTfjsLoss(l1Loss)(t, p);
      const direct = l1Loss(p, t);
      expect(await scalar(viaAdapter)).toBe(await scalar(direct));
      expect(() => toTfjsLoss(new SSIMLoss({ reduction: 'none' }))).toThrow(ConfigError);
      expect(() => toTfjsLoss((a, b) => ssimLoss(a, b, { reduction: 'none' }))(t, p)).toThrow(ShapeError);
      expect(() => toTfjsLoss('ssim' as never)).toThrow(ConfigError);
      tf.dispose([p, t, viaAdapter, direct]);
    });
  });
});
