import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { blocks } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';
import '@restorekit/fft'; // a dependency: its blocks are registered before this package's

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W, odd sizes), created
// through the registry; a registered block without a spec fails the first test. The package is imported
// dynamically so that the blocks it registers can be told apart from core's and fft's.
const B = 2;
const create = (type: string, options: Record<string, unknown>) => () => blocks.create({ type, ...options });

/**
 * MSSFBlock's β_L, β_G, γ start at 0 (spec §2.4), which zeroes the gradient of everything behind them; the harness
 * wants every weight to get a gradient, so these specs use a subclass (same className, so save/load and the registry
 * round trip see the real block) that sets the scales to 0.7 once built (any non-zero value: the check is structural).
 */
function withScales(type: string, options: Record<string, unknown>) {
  return () => {
    const Cls = blocks.create({ type, ...options }).constructor as new (o: unknown) => tfl.layers.Layer; // the registered class
    const Scaled = class extends Cls {
      override build(shape: tfl.Shape | tfl.Shape[]): void {
        super.build(shape);
        tf.tidy(() => {
          for (const w of this.weights) if (/(beta_l|beta_g|gamma)$/.test(w.originalName)) w.write(tf.fill(w.shape as number[], 0.7));
        });
      }
    };
    return new Scaled(options);
  };
}

const SPECS: Record<string, BlockCheckSpec[]> = {
  FourierUnit: [
    { create: create('FourierUnit', { channels: 4 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 4 },
    {
      create: create('FourierUnit', { channels: 3, fftNorm: 'backward', normKind: 'BiasFree' }),
      inputShapes: [[B, 6, 4, 3]],
      outputShape: [B, 6, 4, 3],
      trainableWeights: 3,
    },
  ],
  MSFFN: [
    { create: create('MSFFN', { channels: 4 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 6 },
    {
      create: create('MSFFN', { channels: 6, expansion: 2, kernelSizes: [1, 7], bias: true }),
      inputShapes: [[B, 4, 9, 6]],
      outputShape: [B, 4, 9, 6],
      trainableWeights: 12,
    },
  ],
  MSSFLocalBranch: [{ create: create('MSSFLocalBranch', { channels: 4 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 8 }],
  MSSFGlobalBranch: [{ create: create('MSSFGlobalBranch', { channels: 4 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 10 }],
  MSSFBlock: [
    { create: withScales('MSSFBlock', { channels: 4 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 31 },
    { create: create('MSSFBlock', { channels: 4, residualScales: false }), inputShapes: [[B, 6, 5, 4]], outputShape: [B, 6, 5, 4], trainableWeights: 28 },
  ],
  MSFMBranch: [
    { create: create('MSFMBranch', { channels: 4, groups: 2, kernelSize: 3 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 11 },
    {
      create: create('MSFMBranch', { channels: 6, groups: 3, kernelSize: 5, selectionSoftmax: 'channels', minHidden: 4 }),
      inputShapes: [[B, 3, 8, 6]],
      outputShape: [B, 3, 8, 6],
      trainableWeights: 11,
    },
  ],
  MSFM: [
    { create: create('MSFM', { channels: 8, groups: 2 }), inputShapes: [[B, 5, 7, 8]], outputShape: [B, 5, 7, 8], trainableWeights: 26 },
    {
      create: create('MSFM', { channels: 9, groups: 1, kernelSizes: [3, 5, 3], selectionSoftmax: 'channels' }),
      inputShapes: [[1, 4, 6, 9]],
      outputShape: [1, 4, 6, 9],
      trainableWeights: 37,
    },
  ],
  HSFSBlock: [
    {
      create: withScales('HSFSBlock', { channels: 8, numBlocks: 2, groups: 2 }),
      inputShapes: [[B, 5, 7, 8]],
      outputShape: [B, 5, 7, 8],
      trainableWeights: 2 * 31 + 26,
    },
    { create: create('HSFSBlock', { channels: 4, numBlocks: 0, groups: 2 }), inputShapes: [[B, 6, 5, 4]], outputShape: [B, 6, 5, 4], trainableWeights: 26 },
  ],
  SFE: [
    { create: create('SFE', { outChannels: 8 }), inputShapes: [[B, 5, 7, 3]], outputShape: [B, 5, 7, 8], trainableWeights: 10 },
    { create: create('SFE', { inChannels: 1, outChannels: 4 }), inputShapes: [[B, 6, 3, 1]], outputShape: [B, 6, 3, 4], trainableWeights: 10 },
  ],
};

describe('every block @restorekit/hsfs registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec (and no spec names an unregistered type)', () => {
    expect([...types].sort()).toEqual(Object.keys(SPECS).sort());
  });
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));
});
