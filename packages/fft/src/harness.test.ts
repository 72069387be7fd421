import { beforeAll, describe, expect, it } from 'vitest';
import { blocks, getSettings } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W), created through the
// registry; a registered block without a spec fails the first test. The package is imported dynamically so that the
// blocks it registers can be told apart from core's. The basis cache is on (the default): the layers own the bases
// they use, so checkBlock's leak count (which includes its reference run on cpu) comes back to zero when the
// harness disposes them.
const create = (type: string, options: Record<string, unknown>) => () => blocks.create({ type, ...options });

const SPECS: Record<string, BlockCheckSpec[]> = {
  // two outputs [re, im] of [B, H, ⌊W/2⌋+1, C]
  RFFT2Layer: [
    {
      create: create('RFFT2Layer', { norm: 'ortho' }),
      inputShapes: [[2, 6, 9, 3]],
      outputShape: [
        [2, 6, 5, 3],
        [2, 6, 5, 3],
      ],
      trainableWeights: 0,
    },
  ],
  // [re, im] → real, odd width via the width option
  IRFFT2Layer: [
    {
      create: create('IRFFT2Layer', { norm: 'backward', width: 9 }),
      inputShapes: [
        [2, 6, 5, 3],
        [2, 6, 5, 3],
      ],
      outputShape: [2, 6, 9, 3],
      trainableWeights: 0,
    },
  ],
  // GFNet: one trainable complex filter
  GlobalFilter: [
    { create: create('GlobalFilter', { channels: 4, height: 6, width: 10 }), inputShapes: [[2, 6, 10, 4]], outputShape: [2, 6, 10, 4], trainableWeights: 1 },
  ],
};

describe('every block @restorekit/fft registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec (and no spec names an unregistered type), with the cache on', () => {
    expect([...types].sort()).toEqual(Object.keys(SPECS).sort());
    expect(getSettings().fftCache).toBe(true);
  });
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));
});
