import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams } from '@restorekit/core';
import { checkBlock, compareWithFixture, fixtureTensor, loadFixture, loadFixtureWeights } from '@restorekit/core/testing';
import { DAB } from './index.js';
import { expectBuffersAfter } from './test-utils.js';
import { setFFTCacheEnabled } from '@restorekit/fft';

// @restorekit/fft caches its DFT bases across calls; the leak checks need every call to clean up after itself.
beforeAll(() => setFFTCacheEnabled(false));

describe('DAB (AnyIR TransformerBlock)', () => {
  it('passes the block harness (batch 2, H ≠ W, BatchNorm in train mode for the step)', () =>
    checkBlock({ create: () => new DAB({ dim: 8, heads: 2 }), inputShapes: [[2, 6, 5, 8]], outputShape: [2, 6, 5, 8], trainableWeights: 19 }));

  it('passes the block harness with BiasFree LayerNorm, bias, γ = 2.66 and the identity frequency branch', () =>
    checkBlock({
      create: () => new DAB({ dim: 8, heads: 1, layerNormType: 'BiasFree', bias: true, ffnExpansionFactor: 2.66, frequencyBranch: 'identity' }),
      inputShapes: [[2, 4, 6, 8]], outputShape: [2, 4, 6, 8], trainableWeights: 23,
    }));

  for (const mode of ['eval', 'train'] as const)
    it(`reproduces the official TransformerBlock (${mode} mode)`, async () => {
      const before = tf.memory().numTensors;
      const fx = await loadFixture(`anyir/transformerblock_${mode}.safetensors`);
      const c = fx.config;
      const block = new DAB({ dim: c.dim as number, heads: c.num_heads as number, ffnExpansionFactor: c.ffn_expansion_factor as number, bias: c.bias as boolean, layerNormType: c.LayerNorm_type as 'WithBias' });
      const x = fixtureTensor(fx, '__input__');
      block.build(x.shape);
      loadFixtureWeights(block, fx);
      const y = block.apply(x, { training: mode === 'train' }) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      console.log(`[${tf.getBackend()}] transformerblock_${mode} max |diff| ${cmp.maxAbsDiff.toExponential(2)}`);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol})`).toBe(true);
      if (mode === 'train') await expectBuffersAfter(block, fx);
      tf.dispose([x, y]);
      block.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

  it("its FFN reproduces AnyIR's own FeedForward fixture (GDFN with γ = 2, anyir/feedforward_gdfn2)", async () => {
    const before = tf.memory().numTensors;
    const fx = await loadFixture('anyir/feedforward_gdfn2.safetensors');
    const c = fx.config;
    const dab = new DAB({ dim: c.dim as number, heads: 1, ffnExpansionFactor: c.ffn_expansion_factor as number, bias: c.bias as boolean });
    const x = fixtureTensor(fx, '__input__');
    dab.build(x.shape);
    loadFixtureWeights(dab.ffn, fx);
    const y = dab.ffn.apply(x) as tf.Tensor;
    const cmp = await compareWithFixture(y, fx);
    console.log(`[${tf.getBackend()}] feedforward_gdfn2 max |diff| ${cmp.maxAbsDiff.toExponential(2)}`);
    expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol})`).toBe(true);
    tf.dispose([x, y]);
    dab.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('has the closed-form parameter count of spec §3.7 (C = 28, 56, 112, 224)', () => {
    const closed = (C: number, n: number) => {
      const h = C / 2;
      const hid = Math.round((8 * h) / 3);
      const a = hid - 2 * h;
      return 4 * C + n + 1 + 3 * h * h + 27 * h + (h + 2 * h + hid * h + 49 * a + h * (h + a) + h * h) + C * C + 6 * C * C + 36 * C;
    };
    for (const [C, n, want] of [[28, 1, 9095], [56, 2, 32518], [112, 4, 121882], [224, 8, 471844], [56, 1, 32517]] as const) {
      const b = new DAB({ dim: C, heads: n });
      b.build([1, 8, 8, C]);
      expect(countParams(b)).toBe(want);
      expect(closed(C, n)).toBe(want);
      b.dispose();
    }
  });

  it('rejects bad configs', () => {
    expect(() => new DAB({ dim: 9 })).toThrow(ConfigError);
    expect(() => new DAB({ dim: 12, heads: 4 })).toThrow(/divisible/);
  });
});
