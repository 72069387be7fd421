import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@restorekit/core';
import { OverlapPatchEmbed } from './overlap-patch-embed.js';
import { restormerFixture } from './test-helpers.js';

describe('OverlapPatchEmbed', () => {
  it('reproduces the official OverlapPatchEmbed (fixture)', () =>
    restormerFixture(
      'overlappatchembed',
      (c) => new OverlapPatchEmbed({ inChannels: c.in_c as number, outChannels: c.embed_dim as number, bias: c.bias as boolean }),
    ));

  it('has key proj.weight, defaults 3 → 48, and rejects the wrong channel count', () => {
    expect(new OverlapPatchEmbed().getConfig()).toMatchObject({ inChannels: 3, outChannels: 48, bias: false });
    const p = new OverlapPatchEmbed({ inChannels: 6, outChannels: 48 });
    p.build([null, null, null, 6]);
    expect(p.torchParameters().map((q) => [q.name, q.torchShape])).toEqual([['proj.weight', [48, 6, 3, 3]]]);
    const x = tf.zeros([1, 4, 4, 3]);
    expect(() => p.apply(x)).toThrow(ShapeError);
    x.dispose();
    p.dispose();
    expect(() => new OverlapPatchEmbed({ inChannels: 3, embedDim: 48 } as never)).toThrow(/unknown option 'embedDim'/);
  });

  it('rejects non-positive widths', () => {
    expect(() => new OverlapPatchEmbed({ outChannels: 0 })).toThrow(ConfigError);
    expect(() => new OverlapPatchEmbed({ inChannels: 2.5 })).toThrow(/inChannels/);
  });
});
