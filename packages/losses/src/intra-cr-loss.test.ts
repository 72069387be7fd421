import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, WeightsError, losses } from '@restorekit/core';
import { checkBlock, compareWithFixture, expectNoLeaks, fixtureTensor, loadFixture } from '@restorekit/core/testing';
import { IntraCRLoss, VGGFeatures } from './index.js';
import { directionalDerivative, gradStats, randomImage, seededVGGStateDict } from './test-helpers.js';

describe('DRCNet Intra-CR loss (VGG-19 relu1_1/2_1/3_1)', () => {
  it('VGGFeatures passes the block harness', async () => {
    await checkBlock({
      // relu3_1 is covered by the fixture below; the harness (training step on pure-JS cpu) stays small
      create: () => new VGGFeatures({ arch: 'vgg19', layers: ['relu1_1', 'relu2_1'] }),
      inputShapes: [[2, 8, 6, 3]],
      outputShape: [
        [2, 8, 6, 64],
        [2, 4, 3, 128],
      ],
      trainableWeights: 6,
    });
  });

  it('reproduces losses/drcnet_intracr.safetensors (total, per-slice ratios, distances, L1)', async () => {
    await expectNoLeaks(async () => {
      const fx = await loadFixture('losses/drcnet_intracr.safetensors');
      const loss = losses.create({ type: 'IntraCRLoss', lossWeight: fx.config.loss_weight as number }) as IntraCRLoss;
      const report = await loss.loadWeights(fx.tensors);
      expect(report.loaded.sort()).toEqual([
        'features.0.bias',
        'features.0.weight',
        'features.10.bias',
        'features.10.weight',
        'features.2.bias',
        'features.2.weight',
        'features.5.bias',
        'features.5.weight',
        'features.7.bias',
        'features.7.weight',
      ]);
      const [pred, target, neg] = ['__input__', '__input2__', '__input3__'].map((k) => fixtureTensor(fx, k));
      const t = loss.terms(pred!, target!, { degraded: neg });
      const results: string[] = [];
      for (const [name, got] of [
        ['__output__', t.total],
        ['__output_cr__', t.cr],
        ['__output_dists__', t.dists],
        ['__output_l1__', t.l1],
      ] as const) {
        const c = await compareWithFixture(got, fx, name);
        results.push(`${name} ${c.maxAbsDiff.toExponential(2)}`);
        expect(c.ok, `${tf.getBackend()} ${name}: max |diff| ${c.maxAbsDiff} (atol ${c.atol})`).toBe(true);
      }
      console.log(`[fixture] ${tf.getBackend()} drcnet_intracr: ${results.join(', ')}`);
      tf.dispose([pred!, target!, neg!, t.total, t.cr, t.dists, t.l1]);
      loss.dispose();
    });
  });

  it('gradients reach the prediction and match finite differences', async () => {
    await expectNoLeaks(async () => {
      const loss = new IntraCRLoss({ lossWeight: 0.5 });
      await loss.loadWeights(seededVGGStateDict('vgg19', 11));
      const x = randomImage([1, 8, 8, 3], 21);
      const y = randomImage([1, 8, 8, 3], 22);
      const n = randomImage([1, 8, 8, 3], 23);
      const f = (p: tf.Tensor) => loss.call(p, y, { degraded: n }) as tf.Scalar;
      const g = await gradStats(f, x);
      expect(g.finite && g.maxAbs > 0).toBe(true);
      // piecewise-linear pieces (ReLU, |·|) need a small step; float32 noise of f is ~1e-7 / 2h
      const tt = loss.terms(x, y, { degraded: n });
      const v = f(x);
      expect(Math.abs((await v.data())[0]! - (await tt.total.data())[0]!)).toBeLessThan(1e-7); // call() = terms().total
      tf.dispose([v, tt.total, tt.l1, tt.cr, tt.dists]);
      const [a, num] = await directionalDerivative(f, x, 1e-4);
      expect(Math.abs(a - num), `analytic ${a} vs numeric ${num}`).toBeLessThan(5e-2 * Math.abs(a) + 1e-3);
      tf.dispose([x, y, n]);
      loss.dispose();
    });
  });

  it('typed errors: missing VGG layers, weights not loaded, no degraded input, shape mismatch', async () => {
    await expectNoLeaks(async () => {
      const sd = seededVGGStateDict('vgg19', 11);
      delete sd['features.7.weight'];
      const loss = new IntraCRLoss();
      await expect(loss.loadWeights(sd)).rejects.toThrow(WeightsError);
      await expect(loss.loadWeights(sd)).rejects.toThrow(/features\.7\.weight/);
      const bad = seededVGGStateDict('vgg19', 11);
      bad['features.5.weight'] = { shape: [128, 32, 3, 3], data: new Float32Array(128 * 32 * 9) };
      await expect(loss.loadWeights(bad)).rejects.toThrow(WeightsError);
      const a = tf.zeros([1, 8, 8, 3]);
      const b = tf.zeros([1, 8, 6, 3]);
      expect(() => loss.call(a, a, { degraded: a })).toThrow(/weights not loaded/);
      await loss.loadWeights(seededVGGStateDict('vgg19', 11));
      expect(() => loss.call(a, a)).toThrow(ConfigError);
      expect(() => loss.call(a, b, { degraded: a })).toThrow(ShapeError);
      expect(() => loss.call(a, a, { degraded: b })).toThrow(ShapeError);
      expect(() => new IntraCRLoss({ lambdas: [1, 2] as never })).toThrow(ConfigError);
      tf.dispose([a, b]);
      loss.dispose();
    });
  });
});
