import { describe, it } from 'vitest';
import { checkBlock } from '@restorekit/core/testing';
import { PlainConvBlock, UNetUpBlock } from './index.js';
import { runFixture } from './fixture-helpers.js';

describe('UNetUpBlock', () => {
  it('reproduces drcnet/upblock', () =>
    runFixture('drcnet/upblock.safetensors', (fx) => new UNetUpBlock({ inChannels: fx.config.in_size as number, outChannels: fx.config.out_size as number, reluSlope: fx.config.relu_slope as number })));
  it('passes the block harness', () =>
    checkBlock({ create: () => new UNetUpBlock({ inChannels: 8, outChannels: 4 }), inputShapes: [[2, 3, 5, 8], [2, 6, 10, 4]], outputShape: [2, 6, 10, 4], trainableWeights: 8 }));
  it('PlainConvBlock (official UNetConvBlock1) passes the block harness', () =>
    checkBlock({ create: () => new PlainConvBlock({ inChannels: 6, outChannels: 4, reluSlope: 0.3 }), inputShapes: [[2, 5, 7, 6]], outputShape: [2, 5, 7, 4], trainableWeights: 6 }));
});
