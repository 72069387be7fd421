import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks, type Fixture } from '@restorekit/core/testing';
import { ShapeError } from '@restorekit/core';
import { DFR } from './index.js';
import { checkDRCNetFixture } from './fixture-helpers.js';

const fromFixture = (fx: Fixture) =>
  new DFR({
    inChannels: fx.config.in_size as number,
    outChannels: fx.config.out_size as number,
    downsample: fx.config.downsample as boolean,
    useCsff: fx.config.use_csff as boolean,
    regionNorm: fx.config.use_sf as boolean,
    reluSlope: fx.config.relu_slope as number,
  });

describe('DFR (official UNetConvBlock) reproduces the golden fixtures', () => {
  for (const f of ['dfr_rn_on', 'dfr_rn_off', 'dfr_rn_on_csff', 'dfr_rn_on_nodown'])
    it(f, async () => {
      const r = await checkDRCNetFixture(`drcnet/${f}.safetensors`, fromFixture);
      expect(Object.keys(r.masks)).toEqual(f === 'dfr_rn_off' ? [] : ['norm']);
    });
});

describe('DFR input validation', () => {
  it('rejects a wrong channel count and missing csff inputs with ShapeError', async () => {
    await expectNoLeaks(() => {
      const a = new DFR({ inChannels: 3, outChannels: 4 });
      const x = tf.zeros([1, 4, 4, 5]);
      expect(() => a.apply(x)).toThrow(ShapeError);
      expect(() => a.apply(x)).toThrow(/3 channels/);
      const b = new DFR({ inChannels: 5, outChannels: 4, useCsff: true });
      expect(() => b.apply(x)).toThrow(/3 inputs/);
      const e = tf.zeros([1, 2, 4, 4]);
      expect(() => b.apply([x, e, e])).toThrow(/enc must have the batch and spatial size/);
      tf.dispose([x, e]);
      a.dispose();
      b.dispose();
    }, 'DFR input validation');
  });
});
