import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { checkBlock } from '@restorekit/core/testing';
import { ShapeError } from '@restorekit/core';
import { DFR } from './index.js';
import { runFixture } from './fixture-helpers.js';
import { checkBlockWithUnusedWeights } from './harness-helpers.js';
import type { Fixture } from '@restorekit/core/testing';

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
      const r = await runFixture(`drcnet/${f}.safetensors`, fromFixture);
      expect(Object.keys(r.masks)).toEqual(f === 'dfr_rn_off' ? [] : ['norm']);
    });
});

describe('DFR passes the block harness', () => {
  const B = 2, H = 6, W = 10;
  it('region norm on, downsample', () =>
    checkBlock({ create: () => new DFR({ inChannels: 3, outChannels: 8 }), inputShapes: [[B, H, W, 3]], outputShape: [[B, 3, 5, 8], [B, H, W, 8]], trainableWeights: 14 }));
  it('region norm off: the always-created RN_L weights (7 tensors) get no gradient', () =>
    checkBlockWithUnusedWeights({
      create: () => new DFR({ inChannels: 3, outChannels: 8, regionNorm: false }),
      inputShapes: [[B, H, W, 3]], outputShape: [[B, 3, 5, 8], [B, H, W, 8]], trainableWeights: 14,
      noGradient: { match: ['norm/'], reason: 'official RN_L weights exist at every level but are unused where use_sf is False' },
    }, 7));
  it('cross-stage feature fusion (3 inputs), odd size, slope 0.1', () =>
    checkBlock({
      create: () => new DFR({ inChannels: 4, outChannels: 6, useCsff: true, reluSlope: 0.1 }),
      inputShapes: [[B, 7, W, 4], [B, 7, W, 6], [B, 7, W, 6]], outputShape: [[B, 3, 5, 6], [B, 7, W, 6]], trainableWeights: 18,
    }));
  it('no downsample (deepest level)', () =>
    checkBlock({ create: () => new DFR({ inChannels: 4, outChannels: 8, downsample: false }), inputShapes: [[B, 4, 6, 4]], outputShape: [B, 4, 6, 8], trainableWeights: 13 }));
});

describe('DFR input validation', () => {
  it('rejects a wrong channel count and missing csff inputs with ShapeError', () => {
    const before = tf.memory().numTensors;
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
    expect(tf.memory().numTensors).toBe(before);
  });
});
