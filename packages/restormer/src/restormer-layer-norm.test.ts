import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, countParams } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { RestormerLayerNorm } from './restormer-layer-norm.js';
import { restormerFixture } from './test-helpers.js';

describe('RestormerLayerNorm', () => {
  for (const kind of ['WithBias', 'BiasFree'] as const)
    it(`reproduces the official ${kind} LayerNorm (fixture)`, () =>
      restormerFixture(
        `layernorm_${kind.toLowerCase()}`,
        (c) => new RestormerLayerNorm({ channels: c.dim as number, normKind: c.LayerNorm_type as typeof kind }),
      ));

  it('BiasFree does not centre the numerator: x / sqrt(var + 1e-5) per pixel (hand computation)', () =>
    expectNoLeaks(async () => {
      const ln = new RestormerLayerNorm({ channels: 3, normKind: 'BiasFree' });
      const x = tf.tensor4d([1, 2, 6], [1, 1, 1, 3]);
      const y = ln.apply(x) as tf.Tensor;
      const v = ((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 3;
      const want = [1, 2, 6].map((e) => e / Math.sqrt(v + 1e-5));
      const got = Array.from(await y.data());
      for (const [i, g] of got.entries()) expect(g).toBeCloseTo(want[i]!, 5);
      expect(ln.torchParameters().map((p) => p.name)).toEqual(['body.weight']);
      expect(countParams(ln)).toBe(3);
      tf.dispose([x, y]);
      ln.dispose();
    }));

  it('resolves its options: defaults filled in, case/underscore variants of normKind canonical', () => {
    expect(new RestormerLayerNorm({ channels: 4 }).options).toEqual({ channels: 4, normKind: 'WithBias' });
    expect(new RestormerLayerNorm({ channels: 4, normKind: 'bias_free' as never }).getConfig()).toMatchObject({ channels: 4, normKind: 'BiasFree' });
  });

  it('rejects bad options and inputs with typed errors', () => {
    expect(() => new RestormerLayerNorm({ channels: 4, normKind: 'Other' as never })).toThrow(ConfigError);
    expect(() => new RestormerLayerNorm({ channels: 0 })).toThrow(ConfigError);
    // 0.1 names are unknown options (the PyTorch keys did not change)
    expect(() => new RestormerLayerNorm({ channels: 4, layerNormType: 'BiasFree' } as never)).toThrow(
      /unknown option 'layerNormType'.*known options: channels, normKind/,
    );
    expect(() => new RestormerLayerNorm({ dim: 4 } as never)).toThrow(ConfigError);
    expect(() => new RestormerLayerNorm({ channels: 4, normKnd: 'BiasFree' } as never)).toThrow(/did you mean 'normKind'/);
    const ln = new RestormerLayerNorm({ channels: 4 });
    const x = tf.zeros([1, 2, 2, 3]);
    expect(() => ln.apply(x)).toThrow(ShapeError);
    x.dispose();
    ln.dispose();
  });
});
