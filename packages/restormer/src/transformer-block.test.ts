import { describe, expect, it } from 'vitest';
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

  it('rejects heads that do not divide dim', () => {
    expect(() => new TransformerBlock({ dim: 10, heads: 4 })).toThrow(ConfigError);
  });
});
