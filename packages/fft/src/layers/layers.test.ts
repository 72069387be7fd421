import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { RFFT2Layer, IRFFT2Layer, GlobalFilter, rfft2, irfft2, setFFTCacheEnabled } from '../index.js';

// checkBlock counts every tensor left behind (also the reference run on cpu), so the basis cache is
// off here: each call builds and disposes its own bases.
beforeAll(() => setFFTCacheEnabled(false));
afterAll(() => setFFTCacheEnabled(true));

describe('FFT layers', () => {
  it('RFFT2Layer: two outputs [re, im] of [B, H, ⌊W/2⌋+1, C]', async () => {
    await checkBlock({ create: () => new RFFT2Layer({ norm: 'ortho' }), inputShapes: [[2, 6, 9, 3]], outputShape: [[2, 6, 5, 3], [2, 6, 5, 3]], trainableWeights: 0 });
  });
  it('IRFFT2Layer: [re, im] → real, odd width via the width option', async () => {
    await checkBlock({ create: () => new IRFFT2Layer({ norm: 'backward', width: 9 }), inputShapes: [[2, 6, 5, 3], [2, 6, 5, 3]], outputShape: [2, 6, 9, 3], trainableWeights: 0 });
  });
  it('GlobalFilter (GFNet): one trainable complex filter', async () => {
    await checkBlock({ create: () => new GlobalFilter({ channels: 4, height: 6, width: 10 }), inputShapes: [[2, 6, 10, 4]], outputShape: [2, 6, 10, 4], trainableWeights: 1 });
  });
  it('a model chaining RFFT2Layer → IRFFT2Layer reproduces its input and matches the functions', async () => {
    const inp = tfl.input({ shape: [5, 7, 2] });
    const [re, im] = new RFFT2Layer({ norm: 'forward' }).apply(inp) as tfl.SymbolicTensor[];
    const out = new IRFFT2Layer({ norm: 'forward', width: 7 }).apply([re!, im!]) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: inp, outputs: out });
    const x = tf.randomNormal([1, 5, 7, 2], 0, 1, 'float32', 3);
    const y = model.predict(x) as tf.Tensor;
    const z = rfft2(x, { norm: 'forward' });
    const y2 = irfft2(z, { norm: 'forward', size: [5, 7] });
    const [a, b, c] = await Promise.all([x.data(), y.data(), y2.data()]);
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
      expect(b[i]).toBe(c[i]);
    }
    tf.dispose([x, y, z.re, z.im, y2]);
    model.dispose();
  });
  it('GlobalFilter with an all-ones filter (re = 1, im = 0) is the identity; bad options are ConfigErrors', async () => {
    const g = new GlobalFilter({ channels: 2, height: 4, width: 6 });
    const x = tf.randomNormal([1, 4, 6, 2], 0, 1, 'float32', 9);
    g.apply(x);
    const w = tf.stack([tf.ones([4, 4, 2]), tf.zeros([4, 4, 2])], 3);
    g.setWeights([w]);
    const y = g.apply(x) as tf.Tensor;
    const [a, b] = await Promise.all([x.data(), y.data()]);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, w, y]);
    g.dispose();
    expect(() => new GlobalFilter({ channels: 0, height: 4, width: 4 })).toThrow(ConfigError);
    expect(() => new RFFT2Layer({ norm: 'nope' as never })).toThrow(/unknown norm/);
    expect(() => new IRFFT2Layer({ width: 2.5 })).toThrow(/width/);
  });
});
