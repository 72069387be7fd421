import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { OverlapPatchEmbed } from './overlap-patch-embed.js';
import { reproduceFixture } from './test-helpers.js';

describe('OverlapPatchEmbed', () => {
  it('reproduces the official OverlapPatchEmbed (fixture)', () =>
    reproduceFixture('overlappatchembed', (c) => new OverlapPatchEmbed({ inChannels: c.in_c as number, embedDim: c.embed_dim as number, bias: c.bias as boolean })));

  it('passes the block harness', () =>
    checkBlock({ create: () => new OverlapPatchEmbed({ inChannels: 3, embedDim: 5 }), inputShapes: [[2, 5, 7, 3]], outputShape: [2, 5, 7, 5], trainableWeights: 1 }));

  it('has key proj.weight and rejects the wrong channel count', () => {
    const p = new OverlapPatchEmbed({ inChannels: 6, embedDim: 48 });
    p.build([null, null, null, 6]);
    expect(p.torchParameters().map((q) => [q.name, q.torchShape])).toEqual([['proj.weight', [48, 6, 3, 3]]]);
    const x = tf.zeros([1, 4, 4, 3]);
    expect(() => p.apply(x)).toThrow(ShapeError);
    x.dispose();
    p.dispose();
  });
});
