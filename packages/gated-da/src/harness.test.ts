import { beforeAll, describe, expect, it } from 'vitest';
import { blocks } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';
import '@restorekit/fft';
import '@restorekit/restormer';

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W; the training step runs
// GatedDA's BatchNorm in train mode), created through the registry; a registered block without a spec fails the
// first test. The package is imported dynamically so that the blocks it registers can be told apart from those of
// core, fft and restormer.
const B = 2;
const create = (type: string, options: Record<string, unknown>) => () => blocks.create({ type, ...options });

const SPECS: Record<string, BlockCheckSpec[]> = {
  GatedDA: [
    { create: create('GatedDA', { channels: 6 }), inputShapes: [[B, 5, 9, 6]], outputShape: [B, 5, 9, 6], trainableWeights: 7 },
    // bias, 3×3 kernel, expansion 3, frozen BatchNorm
    {
      create: create('GatedDA', { channels: 4, bias: true, kernelSize: 3, expansion: 3, batchNorm: 'frozen' }),
      inputShapes: [[B, 4, 7, 4]],
      outputShape: [B, 4, 7, 4],
      trainableWeights: 11,
    },
  ],
  SpatialFrequencyAttention: [
    {
      create: create('SpatialFrequencyAttention', { channels: 8, heads: 2, frequencyBranch: 'fft' }),
      inputShapes: [[B, 5, 6, 8]],
      outputShape: [B, 5, 6, 8],
      trainableWeights: 12,
    },
    {
      create: create('SpatialFrequencyAttention', { channels: 8, heads: 2, frequencyBranch: 'identity' }),
      inputShapes: [[B, 5, 6, 8]],
      outputShape: [B, 5, 6, 8],
      trainableWeights: 12,
    },
    // bias and a frozen BatchNorm in the gate
    {
      create: create('SpatialFrequencyAttention', { channels: 12, heads: 3, bias: true, gate: { batchNorm: 'frozen' } }),
      inputShapes: [[B, 6, 4, 12]],
      outputShape: [B, 6, 4, 12],
      trainableWeights: 15,
    },
  ],
  DAB: [
    { create: create('DAB', { channels: 8, attention: { heads: 2 } }), inputShapes: [[B, 6, 5, 8]], outputShape: [B, 6, 5, 8], trainableWeights: 19 },
    // BiasFree LayerNorm, bias, γ = 2.66 and the identity frequency branch
    {
      create: create('DAB', {
        channels: 8,
        attention: { heads: 1, bias: true, frequencyBranch: 'identity' },
        ffn: { expansion: 2.66, bias: true },
        norm: { normKind: 'BiasFree' },
      }),
      inputShapes: [[B, 4, 6, 8]],
      outputShape: [B, 4, 6, 8],
      trainableWeights: 23,
    },
  ],
};

describe('every block @restorekit/gated-da registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec (and no spec names an unregistered type)', () => {
    expect([...types].sort()).toEqual(Object.keys(SPECS).sort());
  });
  for (const [type, specs] of Object.entries(SPECS))
    it(type, async () => {
      const reports = await checkRegisteredBlocks([type], { [type]: specs });
      for (const r of reports[type]!) expect(r.gradients.every((g) => g.finite && g.maxAbs > 0)).toBe(true);
    });
});
