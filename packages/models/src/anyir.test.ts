import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkBlock,
  checkBuffersAfter,
  compareArrays,
  compareWithFixture,
  expectNoLeaks,
  fixtureTensor,
  loadFixture,
  loadFixtureWeights,
} from '@restorekit/core/testing';
import type { AnyIR } from './anyir.js';
import './anyir.js';
import { defaultWebglShaders, fixtureWithFfnBytes, officialModel, presetModel } from './test-helpers.js';

defaultWebglShaders(); // tfjs's default webgl shaders here (test-helpers.ts)

// The FFT basis cache is owned by the model's attention blocks: disposing the model releases it, so the leak checks
// below run with the cache on (as users do).

describe('AnyIR (official net/anyir.py)', () => {
  for (const mode of ['eval', 'train'] as const)
    it(`reproduces the official AnyIR forward (${mode} mode${mode === 'train' ? ', incl. BatchNorm buffers after it' : ''})`, async () => {
      const before = tf.memory().numTensors;
      const fx = await loadFixture(`anyir/anyir_full_${mode}.safetensors`);
      const model = officialModel('anyir', fx.config);
      const x = fixtureTensor(fx, '__input__');
      model.build(x.shape);
      const report = await loadFixtureWeights(model, fx);
      expect(report.missing).toEqual([]);
      const y = model.apply(x, { training: mode === 'train' }) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      let extra = '';
      if (mode === 'train') {
        const b = await checkBuffersAfter(model, fx);
        expect(b.count).toBe(24); // 8 GatedDA BatchNorms × (running_mean, running_var, num_batches_tracked)
        extra = `, buffers max |diff| ${b.maxAbsDiff.toExponential(2)}`;
      }
      console.log(`[${tf.getBackend()}] anyir_full_${mode} output max |diff| ${cmp.maxAbsDiff.toExponential(2)}${extra}`);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol})`).toBe(true);
      tf.dispose([x, y]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

  it('in hidden-channel chunks (configure({ maxHiddenBytes })) the official eval forward is still reproduced', async () => {
    await expectNoLeaks(async () => {
      const fx = await loadFixture('anyir/anyir_full_eval.safetensors');
      const model = officialModel('anyir', fx.config);
      const { chunks, cmp } = await fixtureWithFfnBytes(model, fx, 4096, model.options);
      expect(chunks).toBeGreaterThan(1);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol})`).toBe(true);
      model.dispose();
    }, 'chunked AnyIR forward');
  });

  it('a tiny preset passes the block harness: every weight gets a gradient in a train-mode step (batch 2, 8×16)', () =>
    checkBlock({
      create: () => presetModel('anyir', 'tiny'),
      inputShapes: [[2, 8, 16, 3]],
      outputShape: [2, 8, 16, 3],
      // 8 DABs × 19 + patch_embed + 3 Downsample + 3 Upsample + reduce_chan_level3/2 + reduce_dim_level3 + output.
      trainableWeights: 8 * 19 + 11,
    }));

  it('keeps the size of inputs that are not multiples of 8 (reflect pad, crop back)', async () => {
    const before = tf.memory().numTensors;
    const model = presetModel('anyir', 'tiny', { frequencyBranch: 'identity' }) as AnyIR;
    const x = tf.randomUniform([2, 7, 13, 3], 0, 1, 'float32', 7);
    const y = model.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 7, 13, 3]);
    // Same as running the reflect-padded 8×16 image and taking the top-left 7×13 window.
    const xp = tf.mirrorPad(
      x,
      [
        [0, 0],
        [0, 1],
        [0, 3],
        [0, 0],
      ],
      'reflect',
    );
    const yp = model.apply(xp) as tf.Tensor;
    expect(yp.shape).toEqual([2, 8, 16, 3]);
    const crop = tf.slice(yp, [0, 0, 0, 0], [2, 7, 13, 3]);
    const c = compareArrays('crop', await y.data(), await crop.data(), 1e-6, 1e-6);
    expect(c.ok, `max |diff| ${c.maxAbsDiff}`).toBe(true);
    tf.dispose([x, y, xp, yp, crop]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
