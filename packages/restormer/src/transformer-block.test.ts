import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { TransformerBlock } from './transformer-block.js';
import { reproduceFixture } from './test-helpers.js';

type Kind = 'WithBias' | 'BiasFree';
describe('TransformerBlock', () => {
  for (const kind of ['WithBias', 'BiasFree'] as const)
    it(`reproduces the official TransformerBlock, ${kind} (fixture)`, () =>
      reproduceFixture(`transformerblock_${kind.toLowerCase()}`, (c) =>
        new TransformerBlock({ dim: c.dim as number, heads: c.num_heads as number, ffnExpansionFactor: c.ffn_expansion_factor as number, bias: c.bias as boolean, layerNormType: c.LayerNorm_type as Kind })));

  it('passes the block harness (WithBias 2 heads; BiasFree 1 head)', async () => {
    await checkBlock({ create: () => new TransformerBlock({ dim: 8, heads: 2 }), inputShapes: [[2, 5, 7, 8]], outputShape: [2, 5, 7, 8], trainableWeights: 11 });
    await checkBlock({ create: () => new TransformerBlock({ dim: 4, heads: 1, layerNormType: 'BiasFree', ffnExpansionFactor: 2 }), inputShapes: [[2, 4, 6, 4]], outputShape: [2, 4, 6, 4], trainableWeights: 9 });
  });

  it('matches the closed-form count P = (4C | 2C) + n + 4C² + 27C + 3hC + 18h for every Restormer level', () => {
    const levels: [number, number, Kind, number][] = [
      [48, 1, 'WithBias', 31_279], [96, 2, 'WithBias', 117_872], [96, 1, 'WithBias', 117_871], [192, 4, 'WithBias', 456_352], [384, 8, 'WithBias', 1_796_306],
    ];
    for (const [C, n, kind, want] of levels) {
      const b = new TransformerBlock({ dim: C, heads: n, layerNormType: kind });
      b.build([null, null, null, C]);
      const h = Math.trunc(C * 2.66);
      expect(4 * C + n + 4 * C * C + 27 * C + 3 * h * C + 18 * h).toBe(want);
      expect(countParams(b)).toBe(want);
      b.dispose();
    }
    const bf = new TransformerBlock({ dim: 48, heads: 1, layerNormType: 'BiasFree' });
    bf.build([null, null, null, 48]);
    expect(countParams(bf)).toBe(31_279 - 2 * 48);
    expect(bf.torchParameters().map((p) => p.name)).toEqual([
      'norm1.body.weight', 'attn.temperature', 'attn.qkv.weight', 'attn.qkv_dwconv.weight', 'attn.project_out.weight',
      'norm2.body.weight', 'ffn.project_in.weight', 'ffn.dwconv.weight', 'ffn.project_out.weight',
    ]);
    bf.dispose();
  });

  it('gradients agree with central finite differences (input direction and attention temperature)', async () => {
    const before = tf.memory().numTensors;
    const b = new TransformerBlock({ dim: 4, heads: 2 });
    const x = tf.randomNormal([1, 3, 4, 4], 0.25, 1, 'float32', 11);
    b.build(x.shape);
    const probe = tf.randomNormal([1, 3, 4, 4], 0, 1, 'float32', 12);
    const v = tf.randomNormal([1, 3, 4, 4], 0, 1, 'float32', 13);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(b.apply(t) as tf.Tensor, probe)) as tf.Scalar;
    const scalar = async (s: tf.Scalar) => { const d = (await s.data())[0]!; s.dispose(); return d; };
    const eps = 1e-2;
    // d/dε f(x + ε v) at 0.
    const gx = tf.grad(f)(x);
    const analytic = await scalar(tf.tidy(() => tf.sum(tf.mul(gx, v))));
    const xp = tf.tidy(() => tf.add(x, tf.mul(v, eps)));
    const xm = tf.tidy(() => tf.sub(x, tf.mul(v, eps)));
    const numeric = ((await scalar(tf.tidy(() => f(xp)))) - (await scalar(tf.tidy(() => f(xm))))) / (2 * eps);
    expect(Math.abs(analytic - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    // d/dt of the temperature of head 0.
    const temp = b.attn.temperature;
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
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects heads that do not divide dim', () => {
    expect(() => new TransformerBlock({ dim: 10, heads: 4 })).toThrow(ConfigError);
  });
});
