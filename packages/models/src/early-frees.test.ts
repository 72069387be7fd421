import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import './index.js'; // registers every model
import { lossAndGradients, presetModel, withoutEarlyFrees } from './test-helpers.js';

// The models and their blocks free intermediates as soon as they are consumed (peak memory). tfjs keeps its own
// references to what backprop needs, so this must change neither the loss nor any gradient: the same training
// step with every disposal postponed to the end is the reference, and the two must agree bit for bit (the same
// kernels run on the same values).
describe('freeing intermediates early changes no output and no gradient', () => {
  // [model, preset, input, trainable weights the loss does not reach]
  for (const [name, preset, shape, unreached] of [
    ['restormer', 'tiny', [1, 16, 16, 3], 0],
    ['anyir', 'tiny', [1, 16, 16, 3], 0],
    ['drcnet', 'tiny', [1, 12, 16, 3], 14], // the 2 × 7 official RN_L tensors of level 0, unused by this preset
  ] as const)
    it(`${name} '${preset}', one train-mode step on ${shape.join('×')}`, async () => {
      const model = presetModel(name, preset);
      const x = tf.randomUniform([...shape], 0, 1, 'float32', 3);
      tf.dispose(model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[]); // builds the weights
      const before = tf.memory().numTensors;
      const tensors = (r: ReturnType<typeof lossAndGradients>) => [r.loss, ...Object.values(r.grads)];
      let got!: ReturnType<typeof lossAndGradients>;
      let ref!: ReturnType<typeof lossAndGradients>;
      const peak = (
        await tf.profile(() => {
          got = lossAndGradients(model, x, 11);
        })
      ).peakBytes;
      const peakRef = (
        await tf.profile(() => {
          ref = withoutEarlyFrees(() => lossAndGradients(model, x, 11), tensors);
        })
      ).peakBytes;
      console.log(
        `[${tf.getBackend()}] ${name} '${preset}' train step: peak ${(peak / 1e6).toFixed(2)} MB, ${(peakRef / 1e6).toFixed(2)} MB with every free postponed`,
      );
      expect(peak).toBeLessThan(peakRef); // the frees happen (and the reference really postponed them)
      expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
      expect(model.trainableWeights.length - Object.keys(got.grads).length).toBe(unreached);
      for (const [what, a, b] of [
        ['loss', got.loss, ref.loss],
        ...Object.keys(got.grads).map((k) => [`gradient of ${k}`, got.grads[k]!, ref.grads[k]!] as const),
      ] as const) {
        const [u, v] = [await a.data(), await b.data()];
        let worst = 0;
        for (let j = 0; j < u.length; j++) worst = Math.max(worst, Math.abs(u[j]! - v[j]!));
        expect(worst, what).toBe(0);
      }
      tf.dispose([...tensors(got), ...tensors(ref)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(x);
      model.dispose();
    });
});
