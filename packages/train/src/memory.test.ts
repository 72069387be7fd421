/**
 * Memory stays flat over a long run: a tiny model (two Conv2d of @restorekit/core) trained 1,000 steps from a recipe
 * (PatchSampler with a seeded degradation and σ labels, the degraded input as an extra tensor, a Charbonnier loss,
 * AdamW, warm-up + cosine schedule, EMA, gradient clipping, a validation every 250 steps) holds exactly as many tensors
 * and bytes after step 1,000 as after step 10.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { losses } from '@restorekit/core';
import { resolveRecipe, trainerOptionsFromRecipe } from './recipe.js';
import { Rng } from './rng.js';
import { syntheticImage, tinyNet } from './test-helpers.js';
import { Trainer } from './trainer.js';

/** Charbonnier √((x − y)² + ε²), mean (a loss of core's registry for this test; @restorekit/losses is not a dependency here). */
class MemoryTestCharbonnier {
  call(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor): tf.Tensor {
    const p = Array.isArray(pred) ? pred[0]! : pred;
    return tf.tidy(() => tf.mean(tf.sqrt(tf.add(tf.square(tf.sub(p, target)), 1e-6))));
  }
}
if (!losses.has('MemoryTestCharbonnier')) losses.register('MemoryTestCharbonnier', { create: () => new MemoryTestCharbonnier() });

describe('memory over 1,000 steps', () => {
  it('tf.memory().numTensors and numBytes after step 1,000 equal those after step 10', async () => {
    const recipe = resolveRecipe({
      name: 'memory',
      model: { name: 'tiny' },
      patchSize: 8,
      batchSize: 2,
      degradation: { type: 'compose', steps: [{ type: 'gaussianNoise', sigma: [0, 0.2], range: true }] },
      labels: { sigma: { type: 'sigma' } },
      loss: [{ type: 'MemoryTestCharbonnier', degraded: true }],
      optimizer: { type: 'AdamW', lr: 1e-3, weightDecay: 1e-4 },
      schedule: { type: 'warmupCosine', warmupSteps: 50, etaMin: 1e-6 },
      clipGradNorm: 0.5,
      ema: 0.999,
      steps: 1000,
      checkpointEvery: 1000,
      validateEvery: 250,
      seed: 3,
    });
    const rng = new Rng(1);
    const images = [0, 1, 2].map(() => ({ gt: { data: syntheticImage(rng, 12, 12), shape: [12, 12, 3] as [number, number, number] } }));
    const start = tf.memory().numTensors;
    const model = tinyNet(5);
    const run = trainerOptionsFromRecipe(recipe, { model, images });
    const trainer = new Trainer(run.options);
    const clean = tf.tensor4d(syntheticImage(new Rng(9), 16, 16), [1, 16, 16, 3]);
    const noisy = tf.tidy(() => tf.add(clean, tf.mul(tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 4), 0.1)));
    let at10: { numTensors: number; numBytes: number } | null = null;
    const losses_: number[] = [];
    while (trainer.globalStep < recipe.steps) {
      const r = await trainer.step();
      losses_.push(r.loss);
      if (r.step % recipe.validateEvery === 0) await trainer.validate([{ input: noisy, target: clean }]);
      if (r.step === 10) at10 = { numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes };
    }
    const at1000 = { numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes };
    expect(at10).not.toBeNull();
    expect(at1000).toEqual(at10);
    // It trained: finite losses, the mean of the last 100 below the mean of the first 100.
    expect(losses_.every(Number.isFinite)).toBe(true);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses_.slice(-100))).toBeLessThan(mean(losses_.slice(0, 100)));
    trainer.dispose();
    run.dispose();
    model.dispose();
    tf.dispose([clean, noisy]);
    expect(tf.memory().numTensors).toBe(start);
  }, 300_000);
});
