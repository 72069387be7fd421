import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, conv2d, loadTorchStateDict } from '@restorekit/core';
import { compareArrays, compareWithFixture, expectNoLeaks, fixtureTensor, loadFixture, loadFixtureWeights } from '@restorekit/core/testing';
import { GatedDA, gatedDAWidths } from './index.js';
import { checkAnyIRFixture } from './test-utils.js';

describe('GatedDA', () => {
  it('widths follow int(round(8/3·C)) with Python rounding', async () => {
    expect(gatedDAWidths(14)).toEqual({ hidden: 37, alpha: 9 });
    expect(gatedDAWidths(16)).toEqual({ hidden: 43, alpha: 11 });
    expect(gatedDAWidths(28)).toEqual({ hidden: 75, alpha: 19 });
    expect(gatedDAWidths(112)).toEqual({ hidden: 299, alpha: 75 });
    expect(gatedDAWidths(3, 2.5)).toEqual({ hidden: 8, alpha: 2 }); // round(7.5) = 8 (half to even)
    expect(gatedDAWidths(5, 2.5)).toEqual({ hidden: 12, alpha: 2 }); // round(12.5) = 12 (half to even)
  });

  for (const mode of ['eval', 'train'] as const)
    it(`reproduces the official GatedDegradationAdaption (${mode} mode${mode === 'train' ? ', BatchNorm buffers after the forward' : ''})`, () =>
      checkAnyIRFixture(`gatedda_${mode}`, mode, (c) => new GatedDA({ channels: c.dim as number })));

  it('a frozen BatchNorm uses running statistics in training and leaves them untouched', () =>
    expectNoLeaks(async () => {
      const evalFx = await loadFixture('anyir/gatedda_eval.safetensors');
      const block = new GatedDA({ channels: 16, batchNorm: 'frozen' });
      const x = fixtureTensor(evalFx, '__input__');
      block.build(x.shape);
      await loadFixtureWeights(block, evalFx);
      const y = block.apply(x, { training: true }) as tf.Tensor;
      expect((await compareWithFixture(y, evalFx)).ok).toBe(true);
      const rm = block.torchParameters().find((p) => p.name === 'norm.running_mean')!;
      expect(compareArrays('rm', await rm.variable.read().data(), evalFx.tensors['norm.running_mean']!.data, 0, 0).ok).toBe(true);
      tf.dispose([x, y]);
      block.dispose();
    }));

  it('with biases and trained-looking weights, equals the official formula written out (split of W_exp, concat before W_gate)', () =>
    expectNoLeaks(async () => {
      const c = 6;
      const block = new GatedDA({ channels: c, bias: true });
      const x = tf.randomNormal([2, 9, 7, c], 0, 1, 'float32', 11) as tf.Tensor4D;
      block.build(x.shape);
      let seed = 20;
      for (const p of block.torchParameters())
        if (p.variable.dtype === 'float32') {
          const v = p.name.endsWith('running_var')
            ? tf.randomUniform(p.variable.shape as number[], 0.5, 2, 'float32', seed++)
            : tf.randomNormal(p.variable.shape as number[], 0, 0.4, 'float32', seed++);
          p.variable.write(v);
          v.dispose();
        }
      const w = Object.fromEntries(block.torchParameters().map((p) => [p.name, p.variable.read()]));
      const { alpha: a } = block;
      const want = tf.tidy(() => {
        const conv = (t: tf.Tensor, k: string, groups = 1, pad = 0) =>
          tf.add(conv2d(t as tf.Tensor4D, w[`${k}.weight`] as tf.Tensor4D, { groups, padding: pad }), w[`${k}.bias`]!);
        const fHat = tf.add(
          tf.mul(tf.div(tf.sub(x, w['norm.running_mean']!), tf.sqrt(tf.add(w['norm.running_var']!, 1e-5))), w['norm.weight']!),
          w['norm.bias']!,
        );
        const mu = tf.mean(fHat, [1, 2], true);
        const sigma = tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(fHat, mu)), [1, 2], true), 1e-6));
        const tauAdj = tf.mul(tf.reshape(w.tau!, [1, 1, 1, c]), tf.sigmoid(tf.add(mu, sigma)));
        const [gamma, beta, alpha] = tf.split(conv(fHat, 'W_exp'), [c, c, a], 3);
        const alphaPrime = tf.mul(conv(alpha!, 'W_depth', a, 3), tf.add(tf.slice(tauAdj, [0, 0, 0, 0], [-1, -1, -1, a]), 1));
        const fGate = tf.mul(tf.sigmoid(gamma!), conv(tf.concat([beta!, alphaPrime], 3), 'W_gate'));
        return conv(tf.add(fGate, x), 'W_proj');
      });
      const got = block.apply(x) as tf.Tensor;
      const [g, r] = await Promise.all([got.data(), want.data()]);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < g.length; i++) {
        worst = Math.max(worst, Math.abs(g[i]! - r[i]!));
        scale = Math.max(scale, Math.abs(r[i]!));
      }
      expect(scale).toBeGreaterThan(0.5);
      expect(worst / scale).toBeLessThan(2e-6);
      tf.dispose([x, got, want]);
      block.dispose();
    }));

  it('resolves every option (defaults filled in, the official ones)', async () => {
    expect(new GatedDA({ channels: 14 }).options).toEqual({
      channels: 14,
      expansion: 8 / 3,
      kernelSize: 7,
      bias: false,
      eps: 1e-6,
      normEps: 1e-5,
      normMomentum: 0.1,
      batchNorm: 'batch',
    });
  });

  it('declares PyTorch keys and shapes and rejects bad options and input', async () => {
    const block = new GatedDA({ channels: 14 });
    block.build([1, 8, 8, 14]);
    const keys = Object.fromEntries(block.torchParameters().map((p) => [p.name, p.torchShape]));
    expect(keys).toEqual({
      tau: [1, 14, 1, 1],
      'norm.weight': [14],
      'norm.bias': [14],
      'norm.running_mean': [14],
      'norm.running_var': [14],
      'norm.num_batches_tracked': [],
      'W_exp.weight': [37, 14, 1, 1],
      'W_depth.weight': [9, 1, 7, 7],
      'W_gate.weight': [14, 23, 1, 1],
      'W_proj.weight': [14, 14, 1, 1],
    });
    const bad = tf.zeros([1, 8, 8, 13]);
    expect(() => block.apply(bad)).toThrow(ShapeError);
    expect(() => block.apply(bad)).toThrow(/14 channels/);
    bad.dispose();
    expect(() => new GatedDA({ channels: 4, expansion: 2 })).toThrow(ConfigError);
    expect(() => new GatedDA({ channels: 4, expansion: 2 })).toThrow(/expansion/);
    expect(() => new GatedDA({ channels: 2, expansion: 2.2 })).toThrow(/leaves no α channels/); // round(4.4) = 4 = 2C
    expect(() => new GatedDA({ channels: 4, kernelSize: 4 })).toThrow(/odd/);
    expect(() => new GatedDA({ channels: 4, batchNorm: 'x' as never })).toThrow(ConfigError);
    expect(() => new GatedDA({ channels: 4, expansionRatio: 3 } as never)).toThrow(/unknown option 'expansionRatio'/);
    expect(() => new GatedDA({ channels: 4, expansion_ratio: 3 } as never)).toThrow(
      /unknown option 'expansion_ratio' \(did you mean 'expansion'\?\); known options: channels, expansion,/,
    );
    expect(() => new GatedDA({ channels: 4, expanson: 3 } as never)).toThrow(/did you mean 'expansion'/);
    await expect(loadTorchStateDict(block, { tau: { shape: [1, 13, 1, 1], data: new Float32Array(13) } }, { strict: false })).rejects.toThrow(/tau/);
    block.dispose();
  });
});
