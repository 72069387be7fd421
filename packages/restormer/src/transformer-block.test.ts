import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, RegistryError, blocks, countParams } from '@restorekit/core';
import { checkBlock, compareArrays, expectNoLeaks } from '@restorekit/core/testing';
import { TransformerBlock } from './transformer-block.js';
import type { MDTA } from './mdta.js';
import './downsample.js'; // registers Downsample (a part that does not keep the channels)
import { restormerFixture } from './test-helpers.js';

type Kind = 'WithBias' | 'BiasFree';
/** The official TransformerBlock(dim, num_heads, ffn_expansion_factor, bias, LayerNorm_type) as part configs. */
const fromOfficial = (c: Record<string, unknown>) =>
  new TransformerBlock({
    channels: c.dim as number,
    attention: { type: 'MDTA', heads: c.num_heads as number, bias: c.bias as boolean },
    ffn: { type: 'GDFN', expansion: c.ffn_expansion_factor as number, bias: c.bias as boolean },
    norm: { type: 'RestormerLayerNorm', normKind: c.LayerNorm_type as Kind },
  });

describe('TransformerBlock', () => {
  for (const kind of ['WithBias', 'BiasFree'] as const)
    it(`reproduces the official TransformerBlock, ${kind} (fixture)`, () => restormerFixture(`transformerblock_${kind.toLowerCase()}`, fromOfficial));

  it('matches the closed-form count P = (4C | 2C) + n + 4C² + 27C + 3hC + 18h for every Restormer level', () => {
    const levels: [number, number, Kind, number][] = [
      [48, 1, 'WithBias', 31_279],
      [96, 2, 'WithBias', 117_872],
      [96, 1, 'WithBias', 117_871],
      [192, 4, 'WithBias', 456_352],
      [384, 8, 'WithBias', 1_796_306],
    ];
    for (const [C, n, kind, want] of levels) {
      const b = new TransformerBlock({ channels: C, attention: { heads: n }, norm: { normKind: kind } });
      b.build([null, null, null, C]);
      const h = Math.trunc(C * 2.66);
      expect(4 * C + n + 4 * C * C + 27 * C + 3 * h * C + 18 * h).toBe(want);
      expect(countParams(b)).toBe(want);
      b.dispose();
    }
    const bf = new TransformerBlock({ channels: 48, norm: { normKind: 'BiasFree' } });
    bf.build([null, null, null, 48]);
    expect(countParams(bf)).toBe(31_279 - 2 * 48);
    expect(bf.torchParameters().map((p) => p.name)).toEqual([
      'norm1.body.weight',
      'attn.temperature',
      'attn.qkv.weight',
      'attn.qkv_dwconv.weight',
      'attn.project_out.weight',
      'norm2.body.weight',
      'ffn.project_in.weight',
      'ffn.dwconv.weight',
      'ffn.project_out.weight',
    ]);
    bf.dispose();
  });

  it('gradients agree with central finite differences (input direction and attention temperature)', () =>
    expectNoLeaks(async () => {
      const b = new TransformerBlock({ channels: 4, attention: { heads: 2 } });
      const x = tf.randomNormal([1, 3, 4, 4], 0.25, 1, 'float32', 11);
      b.build(x.shape);
      const probe = tf.randomNormal([1, 3, 4, 4], 0, 1, 'float32', 12);
      const v = tf.randomNormal([1, 3, 4, 4], 0, 1, 'float32', 13);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(b.apply(t) as tf.Tensor, probe)) as tf.Scalar;
      const scalar = async (s: tf.Scalar) => {
        const d = (await s.data())[0]!;
        s.dispose();
        return d;
      };
      const eps = 1e-2;
      // d/dε f(x + ε v) at 0.
      const gx = tf.grad(f)(x);
      const analytic = await scalar(tf.tidy(() => tf.sum(tf.mul(gx, v))));
      const xp = tf.tidy(() => tf.add(x, tf.mul(v, eps)));
      const xm = tf.tidy(() => tf.sub(x, tf.mul(v, eps)));
      const numeric = ((await scalar(tf.tidy(() => f(xp)))) - (await scalar(tf.tidy(() => f(xm))))) / (2 * eps);
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
      // d/dt of the temperature of head 0.
      const temp = (b.attn as MDTA).temperature;
      const t0 = await temp.read().data();
      const { value, grads } = tf.variableGrads(() => f(x), [temp.read() as tf.Variable]);
      const gt = (await Object.values(grads)[0]!.data())[0]!;
      const at = async (d: number) => {
        const t = tf.tensor3d([t0[0]! + d, t0[1]!], [2, 1, 1]);
        temp.write(t);
        t.dispose();
        return scalar(tf.tidy(() => f(x)));
      };
      const nt = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      expect(Math.abs(gt - nt)).toBeLessThan(2e-2 * Math.max(1, Math.abs(nt)));
      tf.dispose([x, probe, v, gx, xp, xm, value, Object.values(grads)]);
      b.dispose();
    }));

  describe('swappable parts (attention, ffn, norm)', () => {
    it("defaults are Restormer's block, and getConfig() gives every part's complete options", () => {
      const b = new TransformerBlock({ channels: 8 });
      expect(b.attn.getClassName()).toBe('restorekit>MDTA');
      expect(b.ffn.getClassName()).toBe('restorekit>GDFN');
      expect(b.norm1.getClassName()).toBe('restorekit>RestormerLayerNorm');
      expect(b.norm2.getClassName()).toBe('restorekit>RestormerLayerNorm');
      const { name: _n, trainable: _t, dtype: _d, ...cfg } = b.getConfig();
      expect(cfg).toEqual({
        channels: 8,
        attention: { type: 'MDTA', heads: 1, bias: false },
        ffn: { type: 'GDFN', expansion: 2.66, bias: false, activation: 'gelu' },
        norm: { type: 'RestormerLayerNorm', normKind: 'WithBias' },
      });
    });

    it('fills in channels for its parts; a part that names channels must agree', () => {
      expect(new TransformerBlock({ channels: 8, attention: { type: 'MDTA', heads: 2, channels: 8 } }).getConfig().attention).toEqual({
        type: 'MDTA',
        heads: 2,
        bias: false,
      });
      expect(() => new TransformerBlock({ channels: 8, attention: { type: 'MDTA', channels: 4 } })).toThrow(ConfigError);
      expect(() => new TransformerBlock({ channels: 8, ffn: { channels: 16 } })).toThrow(/ffn.channels is 16 but the block has 8 channels/);
    });

    it('a part of the default type starts from the default; type may be left out; another type starts from its own defaults', () => {
      const b = new TransformerBlock({ channels: 8, ffn: { activation: 'relu' } });
      expect(b.options.ffn).toEqual({ type: 'GDFN', activation: 'relu' });
      expect(b.getConfig().ffn).toEqual({ type: 'GDFN', expansion: 2.66, bias: false, activation: 'relu' });
      // Another registered C → C block as the norm (core's LayerNorm2d, with its own default eps).
      const ln = new TransformerBlock({ channels: 8, norm: { type: 'LayerNorm2d', normKind: 'BiasFree' } });
      expect(ln.getConfig().norm).toEqual({ type: 'LayerNorm2d', normKind: 'BiasFree', eps: 1e-5 });
      ln.build([null, null, null, 8]);
      expect(
        ln
          .torchParameters()
          .map((p) => p.name)
          .filter((k) => k.startsWith('norm')),
      ).toEqual(['norm1.weight', 'norm2.weight']);
      ln.dispose();
    });

    it('keeps part types and values in their one spelling (tfjs re-cases strings in saved models)', () => {
      const b = new TransformerBlock({ channels: 8, attention: { type: 'mdta', heads: 2 }, norm: { type: 'restormerLayerNorm', normKind: 'bias_free' } });
      expect(b.options.attention.type).toBe('MDTA');
      expect(b.getConfig().norm).toEqual({ type: 'RestormerLayerNorm', normKind: 'BiasFree' });
    });

    it('reports bad part configs naming the block and the part', () => {
      expect(() => new TransformerBlock({ channels: 10, attention: { heads: 4 } })).toThrow(ConfigError);
      expect(() => new TransformerBlock({ channels: 10, attention: { heads: 4 } })).toThrow(
        /TransformerBlock: option 'attention': MDTA: channels = 10 must be divisible by heads = 4/,
      );
      expect(() => new TransformerBlock({ channels: 8, ffn: { type: 'GDFN', ffn_expansion_factor: 2 } })).toThrow(
        /option 'ffn': GDFN: unknown option 'ffn_expansion_factor' \(did you mean 'expansion'\?\); known options: channels, expansion/,
      );
      expect(() => new TransformerBlock({ channels: 8, attention: { type: 'MDTAA' } })).toThrow(RegistryError);
      expect(() => new TransformerBlock({ channels: 8, attention: { type: 'MDTAA' } })).toThrow(/did you mean 'MDTA'/);
      expect(() => new TransformerBlock({ channels: 8, ffn: 'GDFN' as never })).toThrow(/option 'ffn' must be a part config/);
      expect(() => new TransformerBlock({ channels: 8, ffn: { type: 'Downsample' } })).toThrow(/a part must keep the block's channels/);
      // 0.1's top-level options are gone: one way to say each thing (the part configs).
      expect(() => new TransformerBlock({ channels: 8, heads: 2 } as never)).toThrow(/unknown option 'heads'/);
      expect(() => new TransformerBlock({ dim: 8, heads: 2, ffnExpansionFactor: 2.66 } as never)).toThrow(ConfigError);
      expect(() => new TransformerBlock({ channels: 8, ffnMaxHiddenBytes: 0 } as never)).toThrow(/unknown option 'ffnMaxHiddenBytes'/);
    });

    it('a non-default block (SiLU GDFN γ 2 with bias, 2 heads, BiasFree) builds, runs, saves/loads via getConfig and via model.json, with finite gradients', () =>
      expectNoLeaks(async () => {
        const make = () =>
          blocks.create({
            type: 'TransformerBlock',
            channels: 6,
            attention: { heads: 2 },
            ffn: { expansion: 2, bias: true, activation: 'silu' },
            norm: { normKind: 'BiasFree' },
          });
        const report = await checkBlock({ create: make, inputShapes: [[2, 5, 3, 6]], outputShape: [2, 5, 3, 6], trainableWeights: 12 }); // 1 + 4 + 1 + 6
        expect(report.gradients.every((g) => g.finite && g.maxAbs > 0)).toBe(true);
        // Rebuilt from its config (as JSON) with its weights: the same block.
        const a = make() as TransformerBlock;
        const x = tf.randomNormal([2, 5, 3, 6], 0, 1, 'float32', 21);
        const ya = a.apply(x) as tf.Tensor;
        const b = new TransformerBlock(JSON.parse(JSON.stringify(a.getConfig())));
        expect(b.getConfig()).toEqual(a.getConfig());
        expect((b.ffn as unknown as { options: { activation: string } }).options.activation).toBe('silu');
        b.build(x.shape);
        b.setWeights(a.getWeights());
        const yb = b.apply(x) as tf.Tensor;
        expect(compareArrays('rebuilt', await yb.data(), await ya.data(), 0, 0).ok).toBe(true);
        // Through tfjs's own save/load (which re-cases every string and key of the config).
        const input = tfl.input({ shape: [5, 3, 6] });
        const model = tfl.model({ inputs: input, outputs: a.apply(input) as tfl.SymbolicTensor });
        let artifacts: tf.io.ModelArtifacts | null = null;
        await model.save(
          tf.io.withSaveHandler(async (art) => {
            artifacts = art;
            return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
          }),
        );
        const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
        const reloaded = loaded.layers[1] as TransformerBlock;
        const { name: _a, ...want } = a.getConfig();
        const { name: _b, ...got } = reloaded.getConfig();
        expect(got).toEqual(want);
        const yl = loaded.predict(x) as tf.Tensor;
        expect(compareArrays('reloaded', await yl.data(), await ya.data(), 1e-6, 1e-6).ok).toBe(true);
        tf.dispose([x, ya, yb, yl]);
        loaded.dispose();
        model.dispose(); // releases the model's reference to a
        a.dispose();
        b.dispose();
      }));
  });
});
