import { beforeAll, describe, expect, it } from 'vitest';
import { blocks } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W), created through the
// registry; a registered block without a spec fails the first test. The package is imported dynamically so that the
// blocks it registers can be told apart from core's (SimAM, re-exported here, is core's and checked there).
const B = 2,
  H = 6,
  W = 10;
const create = (type: string, options: Record<string, unknown>) => () => blocks.create({ type, ...options });

const SPECS: Record<string, BlockCheckSpec[]> = {
  DFR: [
    // region norm on, downsample
    {
      create: create('DFR', { inChannels: 3, outChannels: 8 }),
      inputShapes: [[B, H, W, 3]],
      outputShape: [
        [B, 3, 5, 8],
        [B, H, W, 8],
      ],
      trainableWeights: 14,
    },
    // cross-stage feature fusion (3 inputs), odd size, slope 0.1
    {
      create: create('DFR', { inChannels: 4, outChannels: 6, useCsff: true, reluSlope: 0.1 }),
      inputShapes: [
        [B, 7, W, 4],
        [B, 7, W, 6],
        [B, 7, W, 6],
      ],
      outputShape: [
        [B, 3, 5, 6],
        [B, 7, W, 6],
      ],
      trainableWeights: 18,
    },
    // no downsample (deepest level)
    {
      create: create('DFR', { inChannels: 4, outChannels: 8, downsample: false }),
      inputShapes: [[B, 4, 6, 4]],
      outputShape: [B, 4, 6, 8],
      trainableWeights: 13,
    },
  ],
  RegionNorm: [{ create: create('RegionNorm', { channels: 4 }), inputShapes: [[B, H, W, 4]], outputShape: [B, H, W, 4], trainableWeights: 7 }],
  PlainConvBlock: [
    {
      create: create('PlainConvBlock', { inChannels: 6, outChannels: 4, reluSlope: 0.3 }),
      inputShapes: [[B, 5, 7, 6]],
      outputShape: [B, 5, 7, 4],
      trainableWeights: 6,
    },
  ],
  UNetUpBlock: [
    {
      create: create('UNetUpBlock', { inChannels: 8, outChannels: 4 }),
      inputShapes: [
        [B, 3, 5, 8],
        [B, 6, 10, 4],
      ],
      outputShape: [B, 6, 10, 4],
      trainableWeights: 8,
    },
  ],
  SAM: [
    {
      create: create('SAM', { channels: 6 }),
      inputShapes: [
        [B, 5, 7, 6],
        [B, 5, 7, 3],
      ],
      outputShape: [
        [B, 5, 7, 6],
        [B, 5, 7, 3],
      ],
      trainableWeights: 6,
    },
  ],
};

describe('every block @restorekit/dfr registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec (and no spec names an unregistered type)', () => {
    expect([...types].sort()).toEqual(Object.keys(SPECS).sort());
  });
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));

  it('DFR with region norm off: exactly the 7 always-created RN_L weights get no gradient', async () => {
    const {
      DFR: [report],
    } = await checkRegisteredBlocks(['DFR'], {
      DFR: {
        create: create('DFR', { inChannels: 3, outChannels: 8, regionNorm: false }),
        inputShapes: [[B, H, W, 3]],
        outputShape: [
          [B, 3, 5, 8],
          [B, H, W, 8],
        ],
        trainableWeights: 14,
        noGradient: { match: ['norm/'], reason: 'official RN_L weights exist at every level but are unused where use_sf is False' },
      },
    });
    // The harness fails an exempt weight that does get a gradient, and any other weight without one.
    const none = report!.gradients.filter((g) => g.maxAbs === 0);
    expect(
      none.map((g) => g.name).every((n) => n.includes('norm/')),
      JSON.stringify(none),
    ).toBe(true);
    expect(none.length).toBe(7);
    expect(report!.gradients.length).toBe(14);
  });
});
