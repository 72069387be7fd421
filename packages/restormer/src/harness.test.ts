import { beforeAll, describe, expect, it } from 'vitest';
import { blocks } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W), created through the
// registry; a registered block without a spec fails the first test. The package is imported dynamically so that the
// blocks it registers can be told apart from core's.
const B = 2;
const create = (type: string, options: Record<string, unknown>) => () => blocks.create({ type, ...options });

const SPECS: Record<string, BlockCheckSpec[]> = {
  RestormerLayerNorm: [
    { create: create('RestormerLayerNorm', { channels: 6 }), inputShapes: [[B, 5, 7, 6]], outputShape: [B, 5, 7, 6], trainableWeights: 2 },
    {
      create: create('RestormerLayerNorm', { channels: 6, normKind: 'BiasFree' }),
      inputShapes: [[B, 5, 7, 6]],
      outputShape: [B, 5, 7, 6],
      trainableWeights: 1,
    },
  ],
  MDTA: [
    { create: create('MDTA', { channels: 8, heads: 2 }), inputShapes: [[B, 5, 7, 8]], outputShape: [B, 5, 7, 8], trainableWeights: 4 },
    { create: create('MDTA', { channels: 4, heads: 1, bias: true }), inputShapes: [[B, 4, 6, 4]], outputShape: [B, 4, 6, 4], trainableWeights: 7 },
  ],
  GDFN: [
    // γ 2.66 no bias; γ 2 with bias; ReLU and SiLU gates
    { create: create('GDFN', { channels: 6 }), inputShapes: [[B, 5, 7, 6]], outputShape: [B, 5, 7, 6], trainableWeights: 3 },
    { create: create('GDFN', { channels: 4, expansion: 2, bias: true }), inputShapes: [[B, 4, 6, 4]], outputShape: [B, 4, 6, 4], trainableWeights: 6 },
    { create: create('GDFN', { channels: 4, expansion: 2, activation: 'relu' }), inputShapes: [[B, 4, 6, 4]], outputShape: [B, 4, 6, 4], trainableWeights: 3 },
    { create: create('GDFN', { channels: 4, expansion: 2, activation: 'silu' }), inputShapes: [[B, 4, 6, 4]], outputShape: [B, 4, 6, 4], trainableWeights: 3 },
  ],
  TransformerBlock: [
    // WithBias 2 heads; BiasFree 1 head γ 2; non-default parts (SiLU GDFN with bias, MDTA with bias)
    {
      create: create('TransformerBlock', { channels: 8, attention: { heads: 2 } }),
      inputShapes: [[B, 5, 7, 8]],
      outputShape: [B, 5, 7, 8],
      trainableWeights: 11,
    },
    {
      create: create('TransformerBlock', {
        channels: 4,
        attention: { type: 'MDTA', heads: 1 },
        ffn: { type: 'GDFN', expansion: 2 },
        norm: { type: 'RestormerLayerNorm', normKind: 'BiasFree' },
      }),
      inputShapes: [[B, 4, 6, 4]],
      outputShape: [B, 4, 6, 4],
      trainableWeights: 9,
    },
    {
      create: create('TransformerBlock', { channels: 6, attention: { heads: 3, bias: true }, ffn: { activation: 'silu', bias: true } }),
      inputShapes: [[B, 3, 5, 6]],
      outputShape: [B, 3, 5, 6],
      trainableWeights: 17,
    },
  ],
  OverlapPatchEmbed: [
    { create: create('OverlapPatchEmbed', { inChannels: 3, outChannels: 5 }), inputShapes: [[B, 5, 7, 3]], outputShape: [B, 5, 7, 5], trainableWeights: 1 },
  ],
  Downsample: [{ create: create('Downsample', { channels: 6 }), inputShapes: [[B, 6, 10, 6]], outputShape: [B, 3, 5, 12], trainableWeights: 1 }],
  Upsample: [{ create: create('Upsample', { channels: 6 }), inputShapes: [[B, 3, 5, 6]], outputShape: [B, 6, 10, 3], trainableWeights: 1 }],
};

describe('every block @restorekit/restormer registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec (and no spec names an unregistered type)', () => {
    expect([...types].sort()).toEqual(Object.keys(SPECS).sort());
  });
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));
});
