import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, blocks, countParams, withSettings } from '@restorekit/core';
import { checkBlock, compareArrays, expectNoLeaks } from '@restorekit/core/testing';
import { fftCacheSize, releaseFFTCacheUse } from '@restorekit/fft';
import { GDFN, TransformerBlock } from '@restorekit/restormer';
import { DAB, SpatialFrequencyAttention } from './index.js';
import { checkAnyIRFixture } from './test-utils.js';

/** The official AnyIR TransformerBlock(dim, num_heads, ffn_expansion_factor, bias, LayerNorm_type) as a DAB. */
const fromOfficial = (c: Record<string, unknown>) =>
  new DAB({
    channels: c.dim as number,
    attention: { heads: c.num_heads as number, bias: c.bias as boolean },
    ffn: { expansion: c.ffn_expansion_factor as number, bias: c.bias as boolean },
    norm: { normKind: c.LayerNorm_type as 'WithBias' },
  });

describe('DAB (AnyIR TransformerBlock)', () => {
  for (const mode of ['eval', 'train'] as const)
    it(`reproduces the official TransformerBlock (${mode} mode)`, () => checkAnyIRFixture(`transformerblock_${mode}`, mode, fromOfficial));

  it("its default FFN reproduces AnyIR's own FeedForward fixture (GDFN with γ = 2, anyir/feedforward_gdfn2)", () =>
    checkAnyIRFixture('feedforward_gdfn2', 'eval', (c) => {
      const dab = new DAB({ channels: c.dim as number });
      expect(dab.getConfig().ffn).toEqual({ type: 'GDFN', expansion: c.ffn_expansion_factor, bias: c.bias, activation: 'gelu' });
      expect(dab.ffn).toBeInstanceOf(GDFN);
      return dab.ffn;
    }));

  it("is Restormer's TransformerBlock with AnyIR's defaults (attention SpatialFrequencyAttention, GDFN expansion 2)", () => {
    const dab = new DAB({ channels: 8 });
    const tb = new TransformerBlock({ channels: 8, attention: { type: 'SpatialFrequencyAttention' }, ffn: { expansion: 2 } });
    expect(dab).toBeInstanceOf(TransformerBlock);
    expect(dab.attn).toBeInstanceOf(SpatialFrequencyAttention);
    const { name: _a, trainable: _at, dtype: _ad, ...dabCfg } = dab.getConfig();
    const { name: _b, trainable: _bt, dtype: _bd, ...tbCfg } = tb.getConfig();
    expect(dabCfg).toEqual(tbCfg);
    expect(dabCfg).toEqual({
      channels: 8,
      attention: {
        type: 'SpatialFrequencyAttention',
        heads: 1,
        bias: false,
        frequencyBranch: 'identity',
        gate: { type: 'GatedDA', expansion: 8 / 3, kernelSize: 7, bias: false, eps: 1e-6, normEps: 1e-5, normMomentum: 0.1, batchNorm: 'batch' },
      },
      ffn: { type: 'GDFN', expansion: 2, bias: false, activation: 'gelu' },
      norm: { type: 'RestormerLayerNorm', normKind: 'WithBias' },
    });
    expect(dab.torchParameters().map((p) => p.name)).toEqual(tb.torchParameters().map((p) => p.name));
    dab.dispose();
    tb.dispose();
    releaseFFTCacheUse(tb); // torchParameters() built it; unlike DAB, a plain TransformerBlock leaves that to its owner
    // A part of the default type keeps AnyIR's defaults; naming the type again does too.
    expect(new DAB({ channels: 8, ffn: { bias: true } }).getConfig().ffn).toMatchObject({ expansion: 2, bias: true });
    expect(new DAB({ channels: 8, ffn: { type: 'GDFN', bias: true } }).getConfig().ffn).toMatchObject({ expansion: 2, bias: true });
  });

  it('has the closed-form parameter count of spec §3.7 (C = 28, 56, 112, 224)', () => {
    const closed = (C: number, n: number) => {
      const h = C / 2;
      const hid = Math.round((8 * h) / 3);
      const a = hid - 2 * h;
      return 4 * C + n + 1 + 3 * h * h + 27 * h + (h + 2 * h + hid * h + 49 * a + h * (h + a) + h * h) + C * C + 6 * C * C + 36 * C;
    };
    for (const [C, n, want] of [
      [28, 1, 9095],
      [56, 2, 32518],
      [112, 4, 121882],
      [224, 8, 471844],
      [56, 1, 32517],
    ] as const) {
      const b = new DAB({ channels: C, attention: { heads: n } });
      b.build([1, 8, 8, C]);
      expect(countParams(b)).toBe(want);
      expect(closed(C, n)).toBe(want);
      b.dispose();
    }
  });

  it('owns the DFT bases its attention caches: building, running and disposing it leaves tf.memory() as it was', () =>
    withSettings({ fftCache: true }, () =>
      expectNoLeaks(async () => {
        const cached = fftCacheSize();
        const dab = new DAB({ channels: 8, attention: { heads: 2, frequencyBranch: 'fft' } });
        const x = tf.randomNormal([1, 6, 5, 8], 0, 1, 'float32', 7);
        const y = dab.apply(x) as tf.Tensor;
        expect(fftCacheSize()).toBeGreaterThan(cached);
        tf.dispose([x, y]);
        dab.dispose();
        expect(fftCacheSize()).toBe(cached);
      }, 'a DAB with the FFT cache on'),
    ));

  it('rejects bad configs', () => {
    expect(() => new DAB({ channels: 9 })).toThrow(ConfigError);
    expect(() => new DAB({ channels: 9 })).toThrow(/DAB: option 'attention': SpatialFrequencyAttention: option 'channels' must be an even positive integer/);
    expect(() => new DAB({ channels: 12, attention: { heads: 4 } })).toThrow(/divisible/);
    // 0.1 options: heads, bias, frequencyBranch and batchNorm now live in the attention (and its gate) config.
    expect(() => new DAB({ channels: 8, heads: 2 } as never)).toThrow(/unknown option 'heads'/);
    expect(() => new DAB({ channels: 8, frequencyBranch: 'identity' } as never)).toThrow(/unknown option 'frequencyBranch'/);
    expect(() => new DAB({ dim: 8 } as never)).toThrow(ConfigError);
  });
});

describe('TransformerBlock with a part from another package (AnyIR attention)', () => {
  const make = () =>
    blocks.create({
      type: 'TransformerBlock',
      channels: 8,
      attention: { type: 'SpatialFrequencyAttention', heads: 2, frequencyBranch: 'identity' },
      ffn: { activation: 'silu' },
    });

  // A plain TransformerBlock's dispose does not dispose its parts (DAB ends its attention's FFT-cache use itself):
  // the harness's leak checks run with the cache off.
  it('passes the block harness: config and registry round-trips, model save/load, finite non-zero gradients', () =>
    withSettings({ fftCache: false }, async () => {
      const r = await checkBlock({ create: make, inputShapes: [[2, 5, 6, 8]], outputShape: [2, 5, 6, 8], trainableWeights: 2 + 12 + 2 + 3 });
      expect(r.gradients.every((g) => g.finite && g.maxAbs > 0)).toBe(true);
    }));

  it('rebuilds from getConfig() (as JSON, and through model.json) to the same outputs', () =>
    withSettings({ fftCache: false }, () =>
      expectNoLeaks(async () => {
        const a = make() as TransformerBlock;
        expect(a.attn).toBeInstanceOf(SpatialFrequencyAttention);
        const x = tf.randomNormal([2, 5, 6, 8], 0, 1, 'float32', 31);
        const ya = a.apply(x) as tf.Tensor;
        const b = new TransformerBlock(JSON.parse(JSON.stringify(a.getConfig())));
        expect(b.getConfig()).toEqual(a.getConfig());
        b.build(x.shape);
        b.setWeights(a.getWeights());
        const yb = b.apply(x) as tf.Tensor;
        expect(compareArrays('rebuilt', await yb.data(), await ya.data(), 0, 0).ok).toBe(true);
        const input = tfl.input({ shape: [5, 6, 8] });
        const model = tfl.model({ inputs: input, outputs: a.apply(input) as tfl.SymbolicTensor });
        let artifacts: tf.io.ModelArtifacts | null = null;
        await model.save(
          tf.io.withSaveHandler(async (art) => {
            artifacts = art;
            return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
          }),
        );
        const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
        const { name: _a, ...want } = a.getConfig();
        const { name: _b, ...got } = (loaded.layers[1] as TransformerBlock).getConfig();
        expect(got).toEqual(want); // tfjs re-cased 'SpatialFrequencyAttention', 'GatedDA', 'WithBias', ... on the way
        const yl = loaded.predict(x) as tf.Tensor;
        expect(compareArrays('reloaded', await yl.data(), await ya.data(), 1e-6, 1e-6).ok).toBe(true);
        tf.dispose([x, ya, yb, yl]);
        loaded.dispose();
        model.dispose();
        a.dispose();
        b.dispose();
      }),
    ));
});
