import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@restorekit/core';
import { Downsample } from './downsample.js';
import { restormerFixture } from './test-helpers.js';

describe('Downsample', () => {
  it('reproduces the official Downsample (fixture; PyTorch PixelUnshuffle order)', () =>
    restormerFixture('downsample', (c) => new Downsample({ channels: c.n_feat as number })));

  it('has key body.0.weight [n/2, n, 3, 3] and rejects odd sizes / odd channels', () => {
    const d = new Downsample({ channels: 48 });
    d.build([null, null, null, 48]);
    expect(d.torchParameters().map((q) => [q.name, q.torchShape])).toEqual([['body.0.weight', [24, 48, 3, 3]]]);
    const x = tf.zeros([1, 5, 4, 48]);
    expect(() => d.apply(x)).toThrow(ShapeError);
    x.dispose();
    d.dispose();
    expect(() => new Downsample({ channels: 5 })).toThrow(ConfigError);
    expect(() => new Downsample({ channels: 5 })).toThrow(/even/);
  });
});
