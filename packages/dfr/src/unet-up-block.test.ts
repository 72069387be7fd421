import { describe, it } from 'vitest';
import { UNetUpBlock } from './index.js';
import { checkDRCNetFixture } from './fixture-helpers.js';

describe('UNetUpBlock', () => {
  it('reproduces drcnet/upblock', () =>
    checkDRCNetFixture(
      'drcnet/upblock.safetensors',
      (fx) =>
        new UNetUpBlock({ inChannels: fx.config.in_size as number, outChannels: fx.config.out_size as number, reluSlope: fx.config.relu_slope as number }),
    ));
});
