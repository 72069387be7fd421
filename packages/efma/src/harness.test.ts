import { beforeAll, describe, expect, it } from 'vitest';
import { blocks } from '@restorekit/core';
import '@restorekit/fft';
import '@restorekit/restormer';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W), created through the
// registry; a registered block without a spec fails the first test. The package is imported dynamically so that the
// blocks it registers can be told apart from those of its dependencies (imported statically above).
const B = 2,
  H = 6,
  W = 10;
const create = (type: string, options: Record<string, unknown>) => () => blocks.create({ type, ...options });

const SPECS: Record<string, BlockCheckSpec[]> = {
  EFMA: [
    { create: create('EFMA', { channels: 8, heads: 2 }), inputShapes: [[B, H, W, 8]], outputShape: [B, H, W, 8], trainableWeights: 6 },
    // guided, with biases
    {
      create: create('EFMA', { channels: 6, heads: 3, bias: true }),
      inputShapes: [
        [B, 5, 7, 6],
        [B, 5, 7, 1],
      ],
      outputShape: [B, 5, 7, 6],
      trainableWeights: 10,
    },
  ],
  EFMABlock: [
    { create: create('EFMABlock', { channels: 8, heads: 2 }), inputShapes: [[B, H, W, 8]], outputShape: [B, H, W, 8], trainableWeights: 13 },
    // guided, BiasFree norms, expansion 2
    {
      create: create('EFMABlock', { channels: 4, heads: 1, expansion: 2, normKind: 'BiasFree' }),
      inputShapes: [
        [B, 7, 5, 4],
        [B, 7, 5, 1],
      ],
      outputShape: [B, 7, 5, 4],
      trainableWeights: 11,
    },
  ],
  FrequencyAux: [
    // odd width (the inverse transform takes the output size)
    {
      create: create('FrequencyAux', { channels: 6 }),
      inputShapes: [[B, H, 9, 6]],
      outputShape: [
        [B, H, 9, 6],
        [B, H, 9, 1],
      ],
      trainableWeights: 14,
    },
  ],
  DegradationSelector: [{ create: create('DegradationSelector', { channels: 6 }), inputShapes: [[B, H, W, 6]], outputShape: [B, 4], trainableWeights: 4 }],
  DynamicProcessing: [
    {
      create: create('DynamicProcessing', { channels: 4 }),
      inputShapes: [
        [B, H, W, 4],
        [B, H, W, 1],
      ],
      outputShape: [
        [B, H, W, 4],
        [B, 4],
      ],
      trainableWeights: 40,
    },
    {
      create: create('DynamicProcessing', { channels: 3, kernelSize: 3, tFloor: 0.2, lFloor: 0.1 }),
      inputShapes: [
        [B, 5, 7, 3],
        [B, 5, 7, 1],
      ],
      outputShape: [
        [B, 5, 7, 3],
        [B, 4],
      ],
      trainableWeights: 40,
    },
  ],
  FilterTrunk: [{ create: create('FilterTrunk', { channels: 5 }), inputShapes: [[B, H, W, 5]], outputShape: [B, H, W, 5], trainableWeights: 7 }],
  SFilter: [
    {
      create: create('SFilter', { channels: 4 }),
      inputShapes: [
        [B, H, W, 4],
        [B, H, W, 4],
      ],
      outputShape: [B, H, W, 4],
      trainableWeights: 7,
    },
  ],
  MixFilter: [
    {
      create: create('MixFilter', { channels: 4 }),
      inputShapes: [
        [B, H, W, 4],
        [B, H, W, 4],
      ],
      outputShape: [B, H, W, 4],
      trainableWeights: 9,
    },
  ],
  IFilter: [
    {
      create: create('IFilter', { channels: 4, lFloor: 0.1 }),
      inputShapes: [
        [B, H, W, 4],
        [B, H, W, 4],
      ],
      outputShape: [B, H, W, 4],
      trainableWeights: 9,
    },
  ],
  KFilter: [
    {
      create: create('KFilter', { channels: 4 }),
      inputShapes: [
        [B, H, W, 4],
        [B, H, W, 4],
      ],
      outputShape: [B, H, W, 4],
      trainableWeights: 9,
    },
    // odd sizes, a 3×3 kernel
    {
      create: create('KFilter', { channels: 3, kernelSize: 3 }),
      inputShapes: [
        [B, 5, 7, 3],
        [B, 5, 7, 3],
      ],
      outputShape: [B, 5, 7, 3],
      trainableWeights: 9,
    },
  ],
};

describe('every block @restorekit/efma registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec (and no spec names an unregistered type)', () => {
    expect([...types].sort()).toEqual(Object.keys(SPECS).sort());
  });
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));
});
