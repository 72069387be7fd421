import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, ShapeError, getSettings, torchParameters, withSettings, type BlockArgs } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import {
  RFFT2Layer,
  IRFFT2Layer,
  GlobalFilter,
  FFTBlock,
  rfft2,
  irfft2,
  fftCacheSize,
  fftCacheUsers,
  releaseFFTCache,
  releaseFFTCacheUse,
  retainFFTCache,
} from '../index.js';

// The basis cache is ON in this file (the default): the layers are users of the cache and free its bases when
// disposed. The block harness (checkBlock) of the three layers is in ../harness.test.ts (registry-driven).
describe('FFT layers', () => {
  it('run with the basis cache on (the default)', () => {
    expect(getSettings().fftCache).toBe(true);
  });
  it('a model chaining RFFT2Layer → IRFFT2Layer reproduces its input and matches the functions', () =>
    expectNoLeaks(async () => {
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
      model.dispose(); // disposes both layers: the last users, so the bases go too (also those of the calls above)
      expect(fftCacheUsers()).toBe(0);
    }, 'RFFT2Layer → IRFFT2Layer model'));
  it('GlobalFilter with an all-ones filter (re = 1, im = 0) is the identity', () =>
    expectNoLeaks(async () => {
      const g = new GlobalFilter({ channels: 2, height: 4, width: 6 });
      const x = tf.randomNormal([1, 4, 6, 2], 0, 1, 'float32', 9);
      tf.dispose(g.apply(x) as tf.Tensor);
      const w = tf.tidy(() => tf.stack([tf.ones([4, 4, 2]), tf.zeros([4, 4, 2])], 3));
      g.setWeights([w]);
      const y = g.apply(x) as tf.Tensor;
      const [a, b] = await Promise.all([x.data(), y.data()]);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
      tf.dispose([x, w, y]);
      g.dispose();
    }, 'GlobalFilter identity'));
});

describe('FFT layer options', () => {
  it('are validated by their schema: bad values and unknown (e.g. snake_case) options are ConfigErrors naming the option', () => {
    expect(() => new GlobalFilter({ channels: 0, height: 4, width: 4 })).toThrow(ConfigError);
    expect(() => new GlobalFilter({ channels: 0, height: 4, width: 4 })).toThrow(/option 'channels' must be a positive integer/);
    expect(() => new GlobalFilter({ channels: 2, height: 4 } as never)).toThrow(/option 'width' is required/);
    expect(() => new RFFT2Layer({ norm: 'nope' as never })).toThrow(/option 'norm' must be one of 'backward', 'ortho', 'forward'/);
    expect(() => new IRFFT2Layer({ width: 2.5 })).toThrow(/option 'width' must be a positive integer \(or unset\)/);
    expect(() => new GlobalFilter({ channels: 2, height: 4, width: 4, in_channels: 2 } as never)).toThrow(/unknown option 'in_channels'/);
    expect(() => new GlobalFilter({ channels: 2, hieght: 4, width: 4 } as never)).toThrow(`GlobalFilter: unknown option 'hieght' (did you mean 'height'?)`);
    // The implementation is a backend choice, not a layer option (a saved model must load on any backend).
    expect(() => new RFFT2Layer({ path: 'matmul' } as never)).toThrow(`RFFT2Layer: unknown option 'path'`);
  });
  it('getConfig returns every resolved option', () => {
    expect(new RFFT2Layer().getConfig()).toMatchObject({ norm: 'backward' });
    expect(new IRFFT2Layer({ width: 9 }).getConfig()).toMatchObject({ norm: 'backward', width: 9 });
    expect(new GlobalFilter({ channels: 2, height: 4, width: 6 }).getConfig()).toMatchObject({ channels: 2, height: 4, width: 6, norm: 'ortho' });
  });
  it('build from their options alone (PyTorch key and shape); building does not make a user of the cache', () => {
    const layers = [new RFFT2Layer(), new IRFFT2Layer(), new GlobalFilter({ channels: 3, height: 6, width: 9 })];
    expect(layers.map((l) => torchParameters(l).map((p) => `${p.name} ${JSON.stringify(p.torchShape)}`))).toEqual([[], [], ['complex_weight [6,5,3,2]']]);
    expect(layers.every((l) => l.built)).toBe(true);
    expect(fftCacheUsers()).toBe(0); // only running makes bases
    for (const l of layers) l.dispose();
  });
  it('wrong input shapes are ShapeErrors', () =>
    expectNoLeaks(() => {
      const g = new GlobalFilter({ channels: 2, height: 4, width: 6 });
      const r = new RFFT2Layer();
      const x = tf.zeros([1, 4, 5, 2]);
      const x3 = tf.zeros([4, 6, 2]);
      expect(() => g.apply(x)).toThrow(ShapeError);
      expect(() => g.apply(x)).toThrow(/built for H×W = 4×6/);
      expect(() => r.apply(x3)).toThrow(ShapeError);
      const ir = new IRFFT2Layer();
      expect(() => ir.apply(x)).toThrow(/expects two inputs \[re, im\]/);
      tf.dispose([x, x3]);
      for (const l of [g, r, ir]) l.dispose(); // built by apply (before the checks), so users of the cache until disposed
      expect(fftCacheUsers()).toBe(0);
    }, 'shape errors'));
});

/** A block of another package that calls the FFT functions itself, with a GlobalFilter child (not registered). */
class SpectralMix extends Block<{ channels: number }> {
  static className = 'restorekit>TestSpectralMix';
  static override optionsSchema = {};
  readonly filter: GlobalFilter;
  constructor(opts: BlockArgs = {}) {
    super(opts as never);
    this.filter = this.addChild('filter', new GlobalFilter({ channels: 2, height: 4, width: 6 }));
  }
  override build(s: tfl.Shape): void {
    retainFFTCache(this);
    this.buildChild(this.filter, s);
    this.built = true;
  }
  override dispose() {
    const r = super.dispose();
    if (r.refCountAfterDispose === 0) releaseFFTCacheUse(this); // also releases the child (core does not dispose children)
    return r;
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const z = rfft2(x, { norm: 'ortho', path: 'matmul' });
    return tf.add(this.run(this.filter, x, training), irfft2(z, { norm: 'ortho', path: 'matmul', size: [4, 6] }));
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}

describe('the basis cache belongs to the blocks that use it', () => {
  for (const [name, make, shapes] of [
    ['RFFT2Layer', () => new RFFT2Layer(), [[2, 6, 10, 3]]],
    [
      'IRFFT2Layer',
      () => new IRFFT2Layer({ width: 9 }),
      [
        [2, 6, 5, 3],
        [2, 6, 5, 3],
      ],
    ],
    ['GlobalFilter', () => new GlobalFilter({ channels: 3, height: 6, width: 10 }), [[2, 6, 10, 3]]],
  ] as [string, () => tfl.layers.Layer, number[][]][])
    it(`${name}: build, run, dispose → tf.memory() as before, with the cache on`, () =>
      withSettings({ fftCache: true }, () =>
        expectNoLeaks(async () => {
          const block = make();
          const xs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', i));
          const ys = [block.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[]].flat();
          expect(fftCacheUsers()).toBe(1);
          expect(fftCacheSize()).toBeGreaterThan(0); // the bases are cached while the block lives...
          const again = [block.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[]].flat();
          tf.dispose([...xs, ...ys, ...again]);
          block.dispose(); // ...and go with it
          expect(fftCacheUsers()).toBe(0);
          expect(fftCacheSize()).toBe(0);
        }, `${name} with the cache on`),
      ));

  it('two users share the bases; they go when the last one is disposed', () =>
    withSettings({ fftCache: true }, () =>
      expectNoLeaks(async () => {
        const a = new RFFT2Layer();
        const b = new RFFT2Layer({ norm: 'ortho' });
        const x = tf.randomNormal([1, 6, 10, 2], 0, 1, 'float32', 1);
        const ya = a.apply(x) as tf.Tensor[];
        const size = fftCacheSize();
        const yb = b.apply(x) as tf.Tensor[];
        expect(fftCacheUsers()).toBe(2);
        a.dispose();
        expect(fftCacheSize()).toBeGreaterThanOrEqual(size); // b still uses them
        const yb2 = b.apply(x) as tf.Tensor[];
        b.dispose();
        expect(fftCacheSize()).toBe(0);
        tf.dispose([x, ...ya, ...yb, ...yb2]);
      }, 'two users'),
    ));

  it('a parent block that calls the FFT itself releases its FFT children too (the pattern for other packages)', () =>
    withSettings({ fftCache: true }, () =>
      expectNoLeaks(async () => {
        const m = new SpectralMix();
        const x = tf.randomNormal([2, 4, 6, 2], 0, 1, 'float32', 4);
        const y = m.apply(x) as tf.Tensor;
        expect(y.shape).toEqual([2, 4, 6, 2]);
        expect(fftCacheUsers()).toBe(2); // the parent and its GlobalFilter
        tf.dispose([x, y]);
        m.dispose();
        expect(fftCacheUsers()).toBe(0);
      }, 'parent with an FFT child'),
    ));

  it('FFTBlock is the base of the three layers; bases of user-less calls are not theirs to free', () =>
    withSettings({ fftCache: true }, async () => {
      for (const l of [new RFFT2Layer(), new IRFFT2Layer(), new GlobalFilter({ channels: 1, height: 2, width: 2 })]) expect(l).toBeInstanceOf(FFTBlock);
      const x = tf.randomNormal([1, 6, 10, 2], 0, 1, 'float32', 1);
      const z = rfft2(x); // no user: these bases stay until releaseFFTCache
      const kept = fftCacheSize();
      expect(kept).toBeGreaterThan(0);
      await expectNoLeaks(() => {
        const g = new GlobalFilter({ channels: 2, height: 6, width: 10 });
        tf.dispose(g.apply(x) as tf.Tensor);
        g.dispose();
      }, 'a block next to user-less cached bases');
      expect(fftCacheSize()).toBe(kept);
      expect(releaseFFTCache()).toBe(kept);
      tf.dispose([x, z.re, z.im]);
    }));
});
