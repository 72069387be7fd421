import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ShapeError, loadTorchStateDict } from '@restorekit/core';
import { TransformerBlock } from '@restorekit/restormer';
import { checkBlock, checkFixture, compareWithFixture, expectNoLeaks, fixtureTensor, loadFixture, readShared } from '@restorekit/core/testing';
import './restormer.js';
import type { Restormer } from './restormer.js';
import { createModel } from './registry.js';
import { defaultWebglShaders, fixtureWithFfnBytes, officialModel, presetModel } from './test-helpers.js';

defaultWebglShaders(); // tfjs's default webgl shaders here (test-helpers.ts)

describe('Restormer (full model)', () => {
  for (const kind of ['withbias', 'biasfree'])
    it(`reproduces the official Restormer, ${kind} (fixture restormer_full_${kind}, dim 8, 1×3×32×32)`, async () => {
      const { comparisons } = await checkFixture(`restormer/restormer_full_${kind}.safetensors`, (fx) => officialModel('restormer', fx.config));
      console.log(`[${tf.getBackend()}] restormer_full_${kind}: max |diff| ${comparisons[0]!.maxAbsDiff.toExponential(2)}`);
    });

  it('createModel loads an official release checkpoint (.pth, { params }) strictly and reproduces the official output', async () => {
    await expectNoLeaks(async () => {
      const fx = await loadFixture('restormer/restormer_full_withbias.safetensors');
      const pth = await readShared('fixtures/pth/restormer_params.pth');
      const model = await createModel('restormer', { preset: 'tiny', heads: [1, 2, 4, 8], weights: pth });
      const x = fixtureTensor(fx, '__input__');
      const y = model.apply(x) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff}`).toBe(true);
      tf.dispose([x, y]);
      model.dispose();
      // A checkpoint of another configuration is refused naming the mismatches, and the model is disposed.
      await expect(createModel('restormer', { preset: 'tiny', weights: pth })).rejects.toThrow(/shape mismatches/);
    }, 'createModel with weights');
  });

  it('one TransformerBlock loads out of the full checkpoint by prefix and computes exactly what it computes inside the model', async () => {
    await expectNoLeaks(async () => {
      const fx = await loadFixture('restormer/restormer_full_withbias.safetensors');
      const model = officialModel('restormer', fx.config);
      const x = fixtureTensor(fx, '__input__');
      model.build(x.shape);
      await loadTorchStateDict(model, fx.tensors, { ignore: (k) => k.startsWith('__') });
      const block = new TransformerBlock({ channels: 8, attention: { heads: 1 } });
      const report = await loadTorchStateDict(block, fx.tensors, { prefix: 'encoder_level1.0.' });
      expect(report.loaded.length).toBe(11);
      const embed = model.childLayers.get('patch_embed')!;
      const inside = (model.childLayers.get('encoder_level1') as unknown as { layersList: tfl.layers.Layer[] }).layersList[0]!;
      const h = embed.apply(x) as tf.Tensor;
      const [a, b] = [inside.apply(h) as tf.Tensor, block.apply(h) as tf.Tensor];
      expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
      tf.dispose([x, h, a, b]);
      model.dispose();
      block.dispose();
    }, 'subtree load');
  });

  it('in hidden-channel chunks (configure({ maxHiddenBytes })) the official fixture is still reproduced', async () => {
    await expectNoLeaks(async () => {
      const fx = await loadFixture('restormer/restormer_full_withbias.safetensors');
      const model = officialModel('restormer', fx.config);
      const { chunks, cmp } = await fixtureWithFfnBytes(model, fx, 16384, model.options);
      // Level 1 (8 channels, 21 hidden channels, 32×32): 172 kB of hidden activation, so 11 chunks.
      expect(chunks).toBe(11);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
      model.dispose();
    }, 'chunked forward');
  });

  it('pads a 2×6×14 input (reflect, bottom/right) to 8×16 inside and crops back to 6×14', async () => {
    await expectNoLeaks(async () => {
      const model = presetModel('restormer', 'tiny') as Restormer;
      const x = tf.randomUniform([2, 6, 14, 3], 0, 1, 'float32', 7);
      const y = model.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 6, 14, 3]);
      // Same as padding by hand (PyTorch F.pad(..., 'reflect') on the right/bottom), running on 8×16, cropping (same shapes as the harness below, so
      // SwiftShader reuses its compiled shaders).
      const padded = tf.mirrorPad(
        x,
        [
          [0, 0],
          [0, 2],
          [0, 2],
          [0, 0],
        ],
        'reflect',
      );
      const yp = model.apply(padded) as tf.Tensor;
      expect(yp.shape).toEqual([2, 8, 16, 3]);
      const crop = tf.slice(yp, [0, 0, 0, 0], [2, 6, 14, 3]);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(crop, y))));
      expect((await diff.data())[0]).toBeLessThan(1e-5);
      tf.dispose([x, y, padded, yp, crop, diff]);
      model.dispose();
    }, 'padding');
  });

  it("passes the block harness on the 'tiny' preset (batch 2, 6×14 padded inside to 8×16): every weight gets a gradient", () =>
    checkBlock({
      create: () => presetModel('restormer', 'tiny'),
      inputShapes: [[2, 6, 14, 3]],
      outputShape: [2, 6, 14, 3],
      // 8 Transformer blocks × 11 tensors + patch_embed, 3 down, 3 up, 2 reductions, output.
      trainableWeights: 98,
    }));

  it('rejects inputs with the wrong channel count or too small to reflect-pad (ShapeError)', () => {
    const model = presetModel('restormer', 'tiny');
    const a = tf.zeros([1, 16, 16, 1]);
    const b = tf.zeros([1, 3, 16, 3]);
    expect(() => model.apply(a)).toThrow(ShapeError);
    expect(() => model.apply(b)).toThrow(ShapeError);
    tf.dispose([a, b]);
    model.dispose();
  });
});
