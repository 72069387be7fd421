import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, loadTorchStateDict } from '@restorekit/core';
import { checkBlock, compareWithFixture, fixtureTensor, loadFixture, loadFixtureWeights } from '@restorekit/core/testing';
import { Restormer, type RestormerOptions } from './restormer.js';
import { createModel } from './registry.js';
import { fixtureWithFfnBytes } from './test-helpers.js';

/** The official constructor arguments stored in a fixture, as Restormer options. */
function optionsFromFixture(c: Record<string, unknown>): RestormerOptions {
  return {
    inChannels: c.inp_channels as number, outChannels: c.out_channels as number, dim: c.dim as number,
    numBlocks: c.num_blocks as RestormerOptions['numBlocks'], numRefinementBlocks: c.num_refinement_blocks as number,
    heads: c.heads as RestormerOptions['heads'], ffnExpansionFactor: c.ffn_expansion_factor as number, bias: c.bias as boolean,
    layerNormType: c.LayerNorm_type as RestormerOptions['layerNormType'], dualPixelTask: c.dual_pixel_task as boolean,
  };
}

describe('Restormer (full model)', () => {
  for (const kind of ['withbias', 'biasfree'])
    it(`reproduces the official Restormer, ${kind} (fixture restormer_full_${kind}, dim 8, 1×3×32×32)`, async () => {
      const before = tf.memory().numTensors;
      const fx = await loadFixture(`restormer/restormer_full_${kind}.safetensors`);
      const model = new Restormer(optionsFromFixture(fx.config));
      const x = fixtureTensor(fx, '__input__');
      model.build(x.shape);
      if (kind === 'withbias') {
        // A pretrained .pth stores the state_dict under `params`: it loads as it is.
        const weights = Object.fromEntries(Object.entries(fx.tensors).filter(([k]) => !k.startsWith('__')));
        const report = loadTorchStateDict(model, { params: weights });
        expect(report.loaded.length).toBe(Object.keys(weights).length);
      } else {
        expect(loadFixtureWeights(model, fx).missing).toEqual([]);
      }
      const y = model.apply(x) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      console.log(`[${tf.getBackend()}] restormer_full_${kind}: max |diff| ${cmp.maxAbsDiff.toExponential(2)} (atol ${cmp.atol}, rtol ${cmp.rtol})`);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
      tf.dispose([x, y]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

  it('ffnMaxHiddenBytes reaches every GDFN, and in hidden-channel chunks the official fixture is still reproduced', async () => {
    const before = tf.memory().numTensors;
    const fx = await loadFixture('restormer/restormer_full_withbias.safetensors');
    const opts = optionsFromFixture(fx.config);
    const model = new Restormer({ ...opts, ffnMaxHiddenBytes: 16384 });
    const { ffns, cmp } = await fixtureWithFfnBytes(model, fx, 16384, opts);
    // Level 1 (dim 8, 21 hidden channels, 32×32): 172 kB of hidden activation, so 11 chunks.
    expect(ffns[0]!.chunksFor([1, 32, 32, 8])).toBe(11);
    expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('pads a 2×6×14 input (reflect, bottom/right) to 8×16 inside and crops back to 6×14', async () => {
    const before = tf.memory().numTensors;
    const model = createModel('restormer', { preset: 'tiny' }) as Restormer;
    const x = tf.randomUniform([2, 6, 14, 3], 0, 1, 'float32', 7);
    const y = model.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 6, 14, 3]);
    // Same as padding by hand (PyTorch F.pad(..., 'reflect') on the right/bottom), running on 8×16, cropping (same shapes as the harness below, so
    // SwiftShader reuses its compiled shaders).
    const padded = tf.mirrorPad(x, [[0, 0], [0, 2], [0, 2], [0, 0]], 'reflect');
    const yp = model.apply(padded) as tf.Tensor;
    expect(yp.shape).toEqual([2, 8, 16, 3]);
    const crop = tf.slice(yp, [0, 0, 0, 0], [2, 6, 14, 3]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(crop, y))));
    expect((await diff.data())[0]).toBeLessThan(1e-5);
    tf.dispose([x, y, padded, yp, crop, diff]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("passes the block harness on the 'tiny' preset (batch 2, 6×14 padded inside to 8×16): every weight gets a gradient", () =>
    checkBlock({
      create: () => createModel('restormer', { preset: 'tiny' }),
      inputShapes: [[2, 6, 14, 3]],
      outputShape: [2, 6, 14, 3],
      // 8 Transformer blocks × 11 tensors + patch_embed, 3 down, 3 up, 2 reductions, output.
      trainableWeights: 98,
    }));

  it('rejects inputs with the wrong channel count or too small to reflect-pad (ShapeError)', () => {
    const model = createModel('restormer', { preset: 'tiny' });
    const a = tf.zeros([1, 16, 16, 1]);
    const b = tf.zeros([1, 3, 16, 3]);
    expect(() => model.apply(a)).toThrow(ShapeError);
    expect(() => model.apply(b)).toThrow(ShapeError);
    tf.dispose([a, b]);
    model.dispose();
  });
});
