import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { setRecompute } from '@restorekit/core';
import { diffToScale } from '@restorekit/core/testing';
import './index.js'; // registers every model
import { lossAndGradients, presetModel } from './test-helpers.js';

// Gradient checkpointing (core's setRecompute) marks each model's repeated units; a training step must then give the
// loss and every weight's gradient of the unmarked model — the same set of weights with a gradient, the same values —
// and leave no tensor behind.
describe('setRecompute(model): the same loss and gradients, less kept for the backward', () => {
  // [family, preset, input]
  for (const [name, preset, shape] of [
    ['restormer', 'tiny', [1, 16, 16, 3]],
    ['anyir', 'tiny', [1, 16, 16, 3]],
    ['drcnet', 'tiny', [1, 12, 16, 3]],
    ['lcdnet', 'tiny', [1, 16, 16, 3]], // runs at 48² inside (its smallest size)
    ['fsdrnet', 'tiny', [1, 16, 16, 3]],
    ['compact', 'tiny', [1, 16, 16, 3]],
  ] as const)
    it(`${name} '${preset}', one train-mode step on ${shape.join('×')}`, async () => {
      const model = presetModel(name, preset);
      const x = tf.randomUniform([...shape], 0, 1, 'float32', 3);
      tf.dispose(model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[]); // builds the weights (and caches)
      // Weights that start at zero (LCDNet's residual scales β, γ; NAFNet's β, γ) would zero the gradients of whole
      // branches: made non-zero so that every path carries a gradient to compare.
      for (const w of model.trainableWeights)
        if ((await w.read().data()).every((v) => v === 0))
          tf.tidy(() => {
            w.write(tf.fill(w.shape as number[], 0.5));
          });
      const before = tf.memory().numTensors;
      const ref = lossAndGradients(model, x, 11);
      const marked = setRecompute(model);
      expect(marked).toBeGreaterThan(0);
      const got = lossAndGradients(model, x, 11);
      expect(setRecompute(model, false)).toBe(0);
      expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
      let worstRel = 0;
      for (const [what, a, b] of [
        ['loss', got.loss, ref.loss],
        ...Object.keys(ref.grads).map((k) => [`gradient of ${k}`, got.grads[k]!, ref.grads[k]!] as const),
      ] as const) {
        const { maxAbsDiff: worst, scale } = diffToScale(await a.data(), await b.data());
        if (scale > 0) worstRel = Math.max(worstRel, worst / scale);
        expect(worst, `${what} (scale ${scale})`).toBeLessThanOrEqual(1e-5 * scale);
      }
      console.log(
        `[${tf.getBackend()}] ${name} '${preset}': ${marked} blocks recomputed, ${Object.keys(ref.grads).length} gradients, largest difference ${worstRel.toExponential(1)} of the gradient's scale`,
      );
      tf.dispose([got.loss, ref.loss, ...Object.values(got.grads), ...Object.values(ref.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(x);
      model.dispose();
    });
});
