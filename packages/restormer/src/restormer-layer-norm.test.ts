import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, countParams } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { RestormerLayerNorm } from './restormer-layer-norm.js';
import { reproduceFixture } from './test-helpers.js';

describe('RestormerLayerNorm', () => {
  for (const kind of ['WithBias', 'BiasFree'] as const)
    it(`reproduces the official ${kind} LayerNorm (fixture)`, () =>
      reproduceFixture(`layernorm_${kind.toLowerCase()}`, (c) => new RestormerLayerNorm({ dim: c.dim as number, layerNormType: c.LayerNorm_type as typeof kind })));

  it('passes the block harness (WithBias, BiasFree)', async () => {
    await checkBlock({ create: () => new RestormerLayerNorm({ dim: 6 }), inputShapes: [[2, 5, 7, 6]], outputShape: [2, 5, 7, 6], trainableWeights: 2 });
    await checkBlock({ create: () => new RestormerLayerNorm({ dim: 6, layerNormType: 'BiasFree' }), inputShapes: [[2, 5, 7, 6]], outputShape: [2, 5, 7, 6], trainableWeights: 1 });
  });

  it('BiasFree does not centre the numerator: x / sqrt(var + 1e-5) per pixel (hand computation)', async () => {
    const ln = new RestormerLayerNorm({ dim: 3, layerNormType: 'BiasFree' });
    const x = tf.tensor4d([1, 2, 6], [1, 1, 1, 3]);
    const y = ln.apply(x) as tf.Tensor;
    const v = ((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 3;
    const want = [1, 2, 6].map((e) => e / Math.sqrt(v + 1e-5));
    const got = Array.from(await y.data());
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
    expect(ln.torchParameters().map((p) => p.name)).toEqual(['body.weight']);
    expect(countParams(ln)).toBe(3);
    tf.dispose([x, y]);
    ln.dispose();
  });

  it('rejects bad options and inputs with typed errors', () => {
    expect(() => new RestormerLayerNorm({ dim: 4, layerNormType: 'Other' as never })).toThrow(ConfigError);
    expect(() => new RestormerLayerNorm({ dim: 0 })).toThrow(ConfigError);
    const ln = new RestormerLayerNorm({ dim: 4 });
    const x = tf.zeros([1, 2, 2, 3]);
    expect(() => ln.apply(x)).toThrow(ShapeError);
    x.dispose();
    ln.dispose();
  });
});
