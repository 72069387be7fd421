import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, loadTorchStateDict } from '@restorekit/core';
import { checkBlock, compareWithFixture, fixtureTensor, loadFixture, loadFixtureWeights, compareArrays } from '@restorekit/core/testing';
import { GatedDA, gatedDAWidths } from './index.js';
import { expectBuffersAfter } from './test-utils.js';

describe('GatedDA', () => {
  it('widths follow int(round(8/3·C)) with Python rounding', () => {
    expect(gatedDAWidths(14)).toEqual({ hidden: 37, alpha: 9 });
    expect(gatedDAWidths(16)).toEqual({ hidden: 43, alpha: 11 });
    expect(gatedDAWidths(28)).toEqual({ hidden: 75, alpha: 19 });
    expect(gatedDAWidths(112)).toEqual({ hidden: 299, alpha: 75 });
    expect(gatedDAWidths(3, 2.5)).toEqual({ hidden: 8, alpha: 2 }); // round(7.5) = 8 (half to even)
    expect(gatedDAWidths(5, 2.5)).toEqual({ hidden: 12, alpha: 2 }); // round(12.5) = 12 (half to even)
  });

  it('passes the block harness (batch 2, H ≠ W, training step in BatchNorm train mode)', async () => {
    const r = await checkBlock({ create: () => new GatedDA({ channels: 6 }), inputShapes: [[2, 5, 9, 6]], outputShape: [2, 5, 9, 6], trainableWeights: 7 });
    expect(r.gradients.every((g) => g.finite && g.maxAbs > 0)).toBe(true);
  });

  it('passes the block harness with bias, 3×3 kernel, ratio 3 and a frozen BatchNorm', () =>
    checkBlock({ create: () => new GatedDA({ channels: 4, bias: true, kernelSize: 3, expansionRatio: 3, batchNorm: 'frozen' }), inputShapes: [[2, 4, 7, 4]], outputShape: [2, 4, 7, 4], trainableWeights: 11 }));

  for (const mode of ['eval', 'train'] as const)
    it(`reproduces the official GatedDegradationAdaption (${mode} mode)`, async () => {
      const before = tf.memory().numTensors;
      const fx = await loadFixture(`anyir/gatedda_${mode}.safetensors`);
      const block = new GatedDA({ channels: fx.config.dim as number });
      const x = fixtureTensor(fx, '__input__');
      block.build(x.shape);
      loadFixtureWeights(block, fx);
      const y = block.apply(x, { training: mode === 'train' }) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol})`).toBe(true);
      console.log(`[${tf.getBackend()}] gatedda_${mode} max |diff| ${cmp.maxAbsDiff.toExponential(2)}`);
      if (mode === 'train') await expectBuffersAfter(block, fx);
      tf.dispose([x, y]);
      block.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

  it('a frozen BatchNorm uses running statistics in training and leaves them untouched', async () => {
    const fx = await loadFixture('anyir/gatedda_train.safetensors');
    const evalFx = await loadFixture('anyir/gatedda_eval.safetensors');
    const block = new GatedDA({ channels: 16, batchNorm: 'frozen' });
    const x = fixtureTensor(evalFx, '__input__');
    block.build(x.shape);
    loadFixtureWeights(block, evalFx);
    const y = block.apply(x, { training: true }) as tf.Tensor;
    expect((await compareWithFixture(y, evalFx)).ok).toBe(true);
    const rm = block.torchParameters().find((p) => p.name === 'norm.running_mean')!;
    expect(compareArrays('rm', await rm.variable.read().data(), evalFx.tensors['norm.running_mean']!.data, 0, 0).ok).toBe(true);
    tf.dispose([x, y]);
    block.dispose();
    void fx;
  });

  it('declares PyTorch keys and shapes and rejects bad input', () => {
    const block = new GatedDA({ channels: 14 });
    block.build([1, 8, 8, 14]);
    const keys = Object.fromEntries(block.torchParameters().map((p) => [p.name, p.torchShape]));
    expect(keys).toEqual({
      tau: [1, 14, 1, 1], 'norm.weight': [14], 'norm.bias': [14], 'norm.running_mean': [14], 'norm.running_var': [14], 'norm.num_batches_tracked': [],
      'W_exp.weight': [37, 14, 1, 1], 'W_depth.weight': [9, 1, 7, 7], 'W_gate.weight': [14, 23, 1, 1], 'W_proj.weight': [14, 14, 1, 1],
    });
    const bad = tf.zeros([1, 8, 8, 13]);
    expect(() => block.apply(bad)).toThrow(ShapeError);
    expect(() => block.apply(bad)).toThrow(/14 channels/);
    bad.dispose();
    expect(() => new GatedDA({ channels: 4, expansionRatio: 2 })).toThrow(ConfigError);
    expect(() => new GatedDA({ channels: 4, kernelSize: 4 })).toThrow(/odd/);
    expect(() => new GatedDA({ channels: 4, batchNorm: 'x' as never })).toThrow(ConfigError);
    expect(() => loadTorchStateDict(block, { tau: { shape: [1, 13, 1, 1], data: new Float32Array(13) } }, { strict: false })).toThrow(/tau/);
    block.dispose();
  });
});
